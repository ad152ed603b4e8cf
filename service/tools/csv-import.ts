/**
 * Imports a card shop's CSV export through the API: issues (code, sku, batch,
 * expires, face), transfers (code, to), sales (code, order), redemptions
 * (code) or voids (code, reason).
 *
 * Resumable without duplicates or gaps: rows are sent in batches of fixed
 * size, each with an Idempotency-Key made of the file's hash, the mode and the
 * batch's line range, and a state file records (atomically, after each answer)
 * the first line not yet settled. A re-run starts there with the same batch
 * size, so a batch whose answer was lost in a crash is sent again under the
 * same key and the service replays its first answer instead of appending it
 * twice.
 */
import { createHash, randomBytes } from "node:crypto";
import { Transform } from "node:stream";
import {
  createReadStream,
  existsSync,
  readFileSync,
  readSync,
  renameSync,
  statSync,
  writeFileSync,
  openSync,
  fsyncSync,
  closeSync,
} from "node:fs";
import { parse, type Info } from "csv-parse";
import { z } from "zod";
import { normalizeCode } from "../core/commitment.js";
import { eventRequest } from "../core/ledger/requests.js";
import { describeIssue } from "../core/validate.js";
import type { KeyProofApi } from "../client/api.js";

export const IMPORT_MODES = ["issue", "transfer", "sell", "redeem", "void"] as const;
export type ImportMode = (typeof IMPORT_MODES)[number];

const COLUMNS: Record<ImportMode, { required: string[]; optional: string[] }> = {
  issue: { required: ["code", "sku"], optional: ["batch", "expires", "face"] },
  transfer: { required: ["code", "to"], optional: [] },
  sell: { required: ["code", "order"], optional: [] },
  redeem: { required: ["code"], optional: [] },
  void: { required: ["code", "reason"], optional: [] },
};

export interface ImportProblem {
  line: number;
  kind: "bad-row" | "duplicate" | "rejected";
  /** The service's error code for rejected rows. */
  code?: string;
  message: string;
}

export interface ImportCounts {
  rows: number;
  accepted: number;
  rejected: number;
  badRows: number;
  duplicates: number;
}

const problemSchema = z.object({
  line: z.number().int().positive(),
  kind: z.enum(["bad-row", "duplicate", "rejected"]),
  code: z.string().optional(),
  message: z.string(),
});
const stateSchema = z.object({
  version: z.literal(1),
  fileSha256: z.string().regex(/^[0-9a-f]{64}$/),
  mode: z.enum(IMPORT_MODES),
  api: z.string(),
  /**
   * This import's id, in every batch's Idempotency-Key: a resumed run keeps
   * it, so a batch whose answer was lost is replayed; a --restart draws a new
   * one, so its batches are sent anew instead of answered with the first
   * run's refusals. (Absent in state files written before it was added.)
   */
  run: z
    .string()
    .regex(/^[0-9a-f]{16}$/)
    .optional(),
  batchSize: z.number().int().min(1).max(10_000),
  /** Every line before this one is settled: sent and answered, or reported. */
  nextLine: z.number().int().min(1),
  done: z.boolean(),
  counts: z.object({
    rows: z.number().int().nonnegative(),
    accepted: z.number().int().nonnegative(),
    rejected: z.number().int().nonnegative(),
    badRows: z.number().int().nonnegative(),
    duplicates: z.number().int().nonnegative(),
  }),
  rejectedByCode: z.record(z.string(), z.number().int().nonnegative()),
  /** The first MAX_KEPT_PROBLEMS problems; the counts hold all of them. */
  problems: z.array(problemSchema),
});
export type ImportState = z.infer<typeof stateSchema>;

export const MAX_KEPT_PROBLEMS = 10_000;

export interface ImportOptions {
  file: string;
  mode: ImportMode;
  api: KeyProofApi;
  batchSize: number;
  statePath: string;
  /** Ignore an existing state file and start from the top. */
  restart?: boolean;
  /** The file's character encoding, a WHATWG label (default utf-8; Excel on Chinese Windows saves gb18030). */
  encoding?: string;
  onProgress?: (bytesRead: number, totalBytes: number) => void;
  onNotice?: (message: string) => void;
}

export interface ImportResult {
  state: ImportState;
  /** Rows settled by earlier runs (skipped by this one). */
  resumedFromLine: number;
  /** Batches this run sent. */
  batches: number;
}

/** A bad invocation or an unusable file: nothing was sent. */
export class ImportError extends Error {
  override name = "ImportError";
}

/**
 * The file's SHA-256, once its bytes are known to be text in `encoding`:
 * a name decoded wrongly would be committed to the log for good, so a file
 * that is not is refused before anything is sent. Read 1 MiB at a time.
 */
function readChecked(file: string, encoding: string): string {
  if (!isEncoding(encoding)) throw new ImportError(`unknown encoding ${encoding} (utf-8, gb18030, big5, ...)`);
  const hash = createHash("sha256");
  const decoder = new TextDecoder(encoding, { fatal: true });
  const chunk = Buffer.alloc(1 << 20);
  // The bytes of the line the chunk starts in (its start, up to 64 KiB), and that line's number.
  let pending: Buffer = Buffer.alloc(0);
  let line = 1;
  const fd = openSync(file, "r");
  try {
    for (;;) {
      const n = readSync(fd, chunk, 0, chunk.length, null);
      const bytes = chunk.subarray(0, n);
      hash.update(bytes);
      try {
        decoder.decode(bytes, { stream: n > 0 });
      } catch {
        const hint =
          decoder.encoding === "utf-8"
            ? "; a CSV saved by Excel on Chinese Windows is GB18030: pass --encoding gb18030"
            : "; pass its --encoding";
        const at = line + badLine(Buffer.concat([pending, bytes]), decoder.encoding);
        throw new ImportError(`${file} is not ${decoder.encoding} text (line ${at})${hint}`);
      }
      if (n === 0) break;
      const last = bytes.lastIndexOf(0x0a);
      if (last < 0) {
        if (pending.length < 1 << 16) pending = Buffer.concat([pending, bytes.subarray(0, (1 << 16) - pending.length)]);
        continue;
      }
      for (let i = bytes.indexOf(0x0a); i >= 0; i = bytes.indexOf(0x0a, i + 1)) line++;
      pending = Buffer.from(bytes.subarray(last + 1, last + 1 + (1 << 16)));
    }
  } finally {
    closeSync(fd);
  }
  return hash.digest("hex");
}

/** How many lines into `bytes` the first one is that does not decode alone (lines split at LF, which no trail byte of UTF-8 or GB18030 is). */
function badLine(bytes: Uint8Array, encoding: string): number {
  let start = 0;
  for (let skipped = 0; ; skipped++) {
    const end = bytes.indexOf(0x0a, start);
    try {
      new TextDecoder(encoding, { fatal: true }).decode(bytes.subarray(start, end < 0 ? bytes.length : end));
    } catch {
      return skipped;
    }
    if (end < 0) return skipped;
    start = end + 1;
  }
}

/** Whether `label` names an encoding a TextDecoder reads (WHATWG Encoding labels). */
export function isEncoding(label: string): boolean {
  try {
    new TextDecoder(label);
    return true;
  } catch {
    return false;
  }
}

/** Text in another encoding, as UTF-8 for the CSV parser. */
function toUtf8(encoding: string): Transform {
  const decoder = new TextDecoder(encoding);
  return new Transform({
    transform(chunk: Buffer, _enc, done) {
      done(null, decoder.decode(chunk, { stream: true }));
    },
    flush(done) {
      done(null, decoder.decode());
    },
  });
}

/** Written to a temporary file, flushed, then renamed: a crash leaves the old or the new state, never half of one. */
function saveState(statePath: string, state: ImportState): void {
  const tmp = `${statePath}.tmp`;
  writeFileSync(tmp, `${JSON.stringify(state, null, 1)}\n`);
  const fd = openSync(tmp, "r");
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  renameSync(tmp, statePath);
}

function loadState(statePath: string): ImportState | null {
  if (!existsSync(statePath)) return null;
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(statePath, "utf8"));
  } catch (e) {
    throw new ImportError(`state file ${statePath} is unreadable (${(e as Error).message}); remove it or pass --restart`);
  }
  const parsed = stateSchema.safeParse(raw);
  if (!parsed.success) throw new ImportError(`state file ${statePath} is not an import state (${describeIssue(parsed.error)})`);
  return parsed.data;
}

const blankToUndefined = (v: unknown): string | undefined => (typeof v === "string" && v.trim() !== "" ? v.trim() : undefined);

/** One CSV row as an event request, or the reason it is not one. */
export function rowToRequest(mode: ImportMode, row: Record<string, unknown>): { request: Record<string, string> } | { error: string } {
  const code = blankToUndefined(row.code);
  if (code === undefined) return { error: "code is empty" };
  try {
    normalizeCode(code);
  } catch (e) {
    return { error: (e as Error).message };
  }
  const request: Record<string, string> = { type: mode, code };
  for (const col of [...COLUMNS[mode].required, ...COLUMNS[mode].optional]) {
    if (col === "code") continue;
    const v = blankToUndefined(row[col]);
    if (v !== undefined) request[col] = v;
    else if (COLUMNS[mode].required.includes(col))
      return { error: row[col] === undefined ? `${col} is missing: the row has fewer columns than the header` : `${col} is empty` };
  }
  const checked = eventRequest.safeParse(request);
  return checked.success ? { request } : { error: describeIssue(checked.error) };
}

/** What makes two rows the same key: the normalized code, hashed so the set holds no plaintext. */
function duplicateKey(code: string): string {
  return createHash("sha256").update(normalizeCode(code)).digest("base64");
}

interface Pending {
  line: number;
  request: Record<string, string>;
}

export async function importCsv(o: ImportOptions): Promise<ImportResult> {
  if (!existsSync(o.file)) throw new ImportError(`${o.file} does not exist`);
  const totalBytes = statSync(o.file).size;
  const encoding = o.encoding ?? "utf-8";
  const fileSha256 = readChecked(o.file, encoding);
  let state = o.restart ? null : loadState(o.statePath);
  if (state) {
    if (state.fileSha256 !== fileSha256)
      throw new ImportError(`${o.statePath} belongs to a different version of ${o.file}; pass --restart to import this file from the top`);
    if (state.mode !== o.mode) throw new ImportError(`${o.statePath} is a ${state.mode} import, not ${o.mode}`);
    if (state.batchSize !== o.batchSize) {
      o.onNotice?.(`resuming with the batch size of the interrupted run (${state.batchSize}), so its last batch is replayed, not repeated`);
    }
  }
  state ??= {
    version: 1,
    fileSha256,
    mode: o.mode,
    api: o.api.base,
    run: randomBytes(8).toString("hex"),
    batchSize: o.batchSize,
    nextLine: 1,
    done: false,
    counts: { rows: 0, accepted: 0, rejected: 0, badRows: 0, duplicates: 0 },
    rejectedByCode: {},
    problems: [],
  };
  const resumedFromLine = state.nextLine;
  if (state.done) return { state, resumedFromLine, batches: 0 };
  const st = state;
  // Saved before the first batch is sent: a crash during it resumes under the same run.
  if (resumedFromLine === 1) saveState(o.statePath, st);
  const keyPrefix = `kp-import:${fileSha256.slice(0, 32)}:${st.run === undefined ? "" : `${st.run}:`}${o.mode}`;

  const seen = new Map<string, number>();
  let headerChecked = false;
  let batch: Pending[] = [];
  let unsettled: ImportProblem[] = [];
  let unsettledRows = 0;
  let batches = 0;

  const keep = (p: ImportProblem): void => {
    if (st.problems.length < MAX_KEPT_PROBLEMS) st.problems.push(p);
  };
  /** Settles everything read so far up to `nextLine`: the problems found and, when given, a batch's answer. */
  const settle = (nextLine: number): void => {
    for (const p of unsettled) {
      if (p.kind === "bad-row") st.counts.badRows++;
      else st.counts.duplicates++;
      keep(p);
    }
    st.counts.rows += unsettledRows;
    unsettled = [];
    unsettledRows = 0;
    st.nextLine = nextLine;
    saveState(o.statePath, st);
  };
  const flush = async (): Promise<void> => {
    if (batch.length === 0) return;
    const first = batch[0]!.line;
    const last = batch[batch.length - 1]!.line;
    const key = `${keyPrefix}:${first}-${last}`;
    const { results } = await o.api.postEvents(
      batch.map((b) => b.request),
      key,
    );
    results.forEach((r, i) => {
      if (r.ok) st.counts.accepted++;
      else {
        st.counts.rejected++;
        st.rejectedByCode[r.error.code] = (st.rejectedByCode[r.error.code] ?? 0) + 1;
        keep({ line: batch[i]!.line, kind: "rejected", code: r.error.code, message: r.error.message });
      }
    });
    batches++;
    batch = [];
    settle(last + 1);
  };

  const source = createReadStream(o.file);
  const text = new TextDecoder(encoding).encoding === "utf-8" ? source : source.pipe(toUtf8(encoding));
  const parser = text.pipe(
    parse({
      bom: true,
      columns: (header: string[]) => header.map((h) => h.trim().toLowerCase()),
      info: true,
      relax_column_count: true,
      skip_empty_lines: true,
      skip_records_with_error: true,
      on_skip: (err) => {
        const line = (err as { lines?: number } | undefined)?.lines ?? 0;
        if (line < st.nextLine) return;
        unsettledRows++;
        unsettled.push({ line, kind: "bad-row", message: err?.message ?? "unreadable CSV record" });
      },
    }),
  );
  for await (const item of parser as AsyncIterable<{ record: Record<string, unknown>; info: Info }>) {
    const { record, info } = item;
    if (!headerChecked) {
      const have = Object.keys(record);
      const missing = COLUMNS[o.mode].required.filter((c) => !have.includes(c));
      if (missing.length > 0) {
        parser.destroy();
        throw new ImportError(`${o.file} lacks the column(s) ${missing.join(", ")} a ${o.mode} import needs (found: ${have.join(", ")})`);
      }
      const extra = have.filter((c) => !COLUMNS[o.mode].required.includes(c) && !COLUMNS[o.mode].optional.includes(c));
      if (extra.length > 0 && st.nextLine === 1) o.onNotice?.(`ignoring column(s) ${extra.join(", ")}`);
      headerChecked = true;
    }
    const line = info.lines;
    // (The parser counts UTF-8 bytes, which a file in another encoding is not.)
    o.onProgress?.(Math.min(source.bytesRead, totalBytes), totalBytes);
    const fresh = line >= st.nextLine;
    const converted = rowToRequest(o.mode, record);
    if ("error" in converted) {
      if (fresh) {
        unsettledRows++;
        unsettled.push({ line, kind: "bad-row", message: converted.error });
      }
      continue;
    }
    const dup = duplicateKey(converted.request.code!);
    const firstLine = seen.get(dup);
    if (firstLine !== undefined) {
      if (fresh) {
        unsettledRows++;
        unsettled.push({ line, kind: "duplicate", message: `same code as line ${firstLine}` });
      }
      continue;
    }
    seen.set(dup, line);
    if (!fresh) continue;
    unsettledRows++;
    batch.push({ line, request: converted.request });
    if (batch.length >= st.batchSize) await flush();
  }
  await flush();
  st.done = true;
  settle(Number.MAX_SAFE_INTEGER);
  o.onProgress?.(totalBytes, totalBytes);
  return { state: st, resumedFromLine, batches };
}
