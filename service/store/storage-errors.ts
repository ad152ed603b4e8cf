/**
 * What the ledger tells its callers when LevelDB fails under it: a full or
 * failing disk, a corrupt table, a data directory another process holds.
 * Clients learn what to do, never the server's paths (causes are kept for
 * the log).
 */
import { KeyProofError, messageOf } from "../core/errors.js";

/**
 * What every write is refused with once a batch could not be written. The
 * client learns what to do, not the server's paths (the cause is logged).
 * The failed batch's own requests may or may not be durable (an fsync that
 * failed may still have written), hence a retry under the same key.
 */
export function writesStopped(cause: unknown): KeyProofError {
  return new KeyProofError(
    "STORAGE_UNAVAILABLE",
    "the ledger stopped writing after a storage error and refuses writes until the service is restarted; events acknowledged before are durable. Send this request again after the restart, with the same Idempotency-Key: its events are recorded at most once",
    { cause },
  );
}

/** LevelDB's own failures (a failing disk, a corrupt table), as opposed to a bug here. */
export function isStorageError(e: unknown): boolean {
  const code = (e as { code?: unknown } | null)?.code;
  return typeof code === "string" && code.startsWith("LEVEL_");
}

/** What a group is refused with when a read failed while it was prepared (nothing of it was written). */
export function readFailed(cause: unknown): KeyProofError {
  return new KeyProofError(
    "STORAGE_UNAVAILABLE",
    "a storage read failed while this request was prepared; nothing of it was recorded: send it again",
    { cause },
  );
}

/** What a request other than a write is refused with when a storage read failed under it. */
export function readRefused(cause: unknown): KeyProofError {
  return new KeyProofError("STORAGE_UNAVAILABLE", "a storage read failed while this request was served: try again later", { cause });
}

/**
 * LevelDB's "Database failed to open" names no reason; its cause does. A held
 * lock is a second service (or tool) on the same data directory.
 */
export function openFailure(dir: string, e: unknown): Error {
  const cause = (e as { cause?: { code?: unknown; message?: unknown } } | null)?.cause;
  if (cause?.code === "LEVEL_LOCKED")
    return new Error(`the ledger in ${dir} is in use by another process: is KeyProof already running on this DATA_DIR?`, { cause: e });
  const why = typeof cause?.message === "string" ? cause.message : messageOf(e);
  return new Error(`the ledger in ${dir} could not be opened: ${why}`, { cause: e });
}
