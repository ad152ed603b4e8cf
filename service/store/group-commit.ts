/**
 * Group commit: the ledger's sequencer, apart from what a group is. Writers
 * queue submissions; the sequencer takes them in order as groups, has each
 * group prepared into a LevelDB batch on top of the groups before it, writes
 * the batches strictly in order (one fsync each), and answers a group's
 * submitters only once the batch holding it is durable.
 *
 * Two stages overlap: while one batch is being written (LevelDB's thread,
 * fsync), the groups that arrive meanwhile are prepared into the next batch.
 * Groups prepared during one write share the next batch, so they cost one
 * fsync: when the disk stalls (LevelDB flushing a memtable shares the disk
 * with the log's fsync), the requests that queue up are prepared during the
 * stall and all written by the first fsync after it, instead of one fsync
 * each, one after the other.
 *
 * During a write, a queue of a few requests waits for the write to end and
 * is then prepared as one group. Prepared as they came, one or two at a
 * time, they would go out in the same next batch anyway, each group paying
 * for its own checkpoint, roots and signature: at 1,000 single events a
 * second that was about 100 µs of the event loop an event, 11 %
 * (docs/figures.md, twelfth session). A queue that reaches
 * `overlapRequests` is prepared during the write, where hiding its
 * preparation behind the fsync pays.
 *
 * A group may finish in two steps (`PreparedGroupOf.finished`): once it
 * resolves, the next group is prepared on top of it while the group's own
 * last step (its map update on the map thread, and its checkpoint) goes
 * on; the batch is written once every group in it has finished. A group
 * whose last step fails is refused, and since the groups after it were
 * prepared on top of it, writing stops.
 *
 * A batch that cannot be written stops all writing: the batches after it
 * were prepared on top of it. Reopening the store resumes from what is
 * durable.
 */
import { KeyProofError } from "../core/errors.js";
import type { ChainedBatch, Db } from "./map-store.js";
import { isStorageError, readFailed, writesStopped } from "./storage-errors.js";

/** What the stages of a group commit do with a group (`G`) of submissions (`S`) answered with `A`. */
export interface GroupStages<S, G extends PreparedGroupOf<A>, A> {
  /** How many requests a submission holds (a group holds at most `maxGroupRequests`). */
  requests(sub: S): number;
  /**
   * Validates and applies the submissions on top of every group prepared
   * before, adding their writes to `batch`. Rejecting refuses the whole group;
   * one that rejects after it began to write into the batch stops writing
   * if other groups share the batch.
   */
  prepare(batch: ChainedBatch, subs: S[]): Promise<G>;
  /** Right after the batch whose newest group is `newest` is durable (its write took `ms`), before anything else runs. */
  written(newest: G, ms: number): void;
  /** Each group of a durable batch, oldest first, before its submitters are answered. */
  publish(group: G, info: { requests: number; write: number }): void;
}

/** A prepared group's answers, by submission: an error refuses that submission as a whole. */
export interface PreparedGroupOf<A> {
  answers: (A | KeyProofError)[];
  /** Settles when the group's last step is done (absent: it was done when `prepare` resolved). */
  finished?: Promise<void>;
}

interface Pending<S, A> {
  sub: S;
  /** `stages.requests(sub)`, counted once: the queue's count adds it and takes it off again. */
  requests: number;
  resolve: (a: A) => void;
  reject: (e: unknown) => void;
}

/** One LevelDB batch (one fsync) and the groups prepared into it, oldest first. */
interface WriteSet<S, G, A> {
  /** Everything its groups write, already in LevelDB's native batch. */
  batch: ChainedBatch;
  groups: { prepared: G; pending: Pending<S, A>[]; requests: number }[];
  /** Groups' last steps still going on (`PreparedGroupOf.finished`), each settling without throwing. */
  finishing: Promise<void>[];
  /** Requests of its groups (see SHARED_BATCH_REQUESTS). */
  requests: number;
  /** Taken by the writer, or holding part of a group that failed: no more groups join it. */
  sealed: boolean;
  /** Settles when the group being prepared into the batch is done. */
  filling: Promise<void> | null;
}

/**
 * A group joins the batch of the groups before it if they hold at most this
 * many requests together: sharing a batch saves an fsync per small group, a
 * large group would only hold back the write of the groups before it.
 */
const SHARED_BATCH_REQUESTS = 1000;

/** The fewest queued requests prepared during a write (see above): fewer wait for it to end. */
export const OVERLAP_REQUESTS = 16;

export class GroupCommit<S, G extends PreparedGroupOf<A>, A> {
  private queue: Pending<S, A>[] = [];
  /** Requests the queue holds (a submission may hold many). */
  private queuedRequests = 0;
  private running: Promise<void> | null = null;
  /** A drain is on (set and cleared by the drain itself). */
  private draining = false;
  /** Set while the sequencer waits for a write with too little queued: a submission wakes it. */
  private wake: (() => void) | null = null;
  /** LevelDB writes made so far (each one fsync). */
  private writes = 0;
  /** Set when a batch write failed: later batches were prepared on top of it, so writing stops. */
  private broken: KeyProofError | null = null;

  constructor(
    private readonly db: Db,
    private readonly stages: GroupStages<S, G, A>,
    private readonly maxGroupRequests: number,
    private readonly overlapRequests = OVERLAP_REQUESTS,
  ) {}

  /** Why writing stopped (a batch that could not be written), or null while it goes on. */
  get failure(): KeyProofError | null {
    return this.broken;
  }

  /** Resolves once the batch holding `sub` is durable. */
  submit(sub: S): Promise<A> {
    return new Promise((resolve, reject) => {
      const requests = this.stages.requests(sub);
      this.queue.push({ sub, requests, resolve, reject });
      this.queuedRequests += requests;
      // `draining`, not `running`, says whether a drain is on: a drain with
      // nothing to await (a stopped ledger refusing the queue) ends within
      // this call, before `running` is set, and a settled `running` taken
      // for a live drain made close() spin and left the next requests
      // waiting for a drain that never came.
      if (!this.draining) this.running = this.drain();
      else this.wake?.();
    });
  }

  /** Settles once every submission so far is answered. */
  async idle(): Promise<void> {
    while (this.draining) await this.running;
  }

  private async drain(): Promise<void> {
    this.draining = true;
    const sets: WriteSet<S, G, A>[] = [];
    // `writing` is cleared in the same step that finds no batch left, so a
    // batch added after it always finds the writer gone and starts one.
    let writing = false;
    let writer: Promise<void> = Promise.resolve();
    const writeAll = async (): Promise<void> => {
      writing = true;
      try {
        while (sets.length > 0) {
          const set = sets[0]!;
          // No group joins it from now on; one being prepared into it finishes first.
          set.sealed = true;
          while (set.filling) await set.filling;
          sets.shift();
          await this.writeSet(set);
        }
      } finally {
        writing = false;
      }
    };
    try {
      for (;;) {
        if (this.queue.length === 0 || (writing && this.queuedRequests < this.overlapRequests)) {
          // Until the write is done or a request comes: what comes during a
          // long write is prepared during it, once there is enough of it.
          if (writing) await Promise.race([writer, new Promise<void>((r) => (this.wake = r))]).finally(() => (this.wake = null));
          else if (sets.length > 0) writer = writeAll();
          else break;
          continue;
        }
        const { group, requests } = this.takeGroup();
        if (this.broken) {
          for (const p of group) p.reject(this.broken);
          continue;
        }
        let set = sets.at(-1);
        if (!set || set.sealed || set.requests + requests > SHARED_BATCH_REQUESTS) {
          let batch: ChainedBatch;
          try {
            batch = this.db.batch();
          } catch (e) {
            for (const p of group) p.reject(e);
            continue;
          }
          set = { batch, groups: [], requests: 0, finishing: [], sealed: false, filling: null };
          sets.push(set);
        }
        const ops = set.batch.length;
        const preparing = this.stages.prepare(
          set.batch,
          group.map((p) => p.sub),
        );
        set.filling = preparing.then(
          () => undefined,
          () => undefined,
        );
        try {
          const prepared = await preparing;
          set.groups.push({ prepared, pending: group, requests });
          set.requests += requests;
          if (prepared.finished) {
            set.finishing.push(
              prepared.finished.catch((e: unknown) => {
                // Told at once why, as a group whose preparation failed is; the others in its batch once it is due.
                const refused = isStorageError(e) ? readFailed(e) : e;
                for (const p of group) p.reject(refused);
                // One that says writing stopped already (the map's thread gone, a failed group before it) is the reason as it is.
                this.broken ??= e instanceof KeyProofError && e.code === "STORAGE_UNAVAILABLE" ? e : writesStopped(e);
              }),
            );
          }
        } catch (e) {
          const refused = isStorageError(e) ? readFailed(e) : e;
          for (const p of group) p.reject(refused);
          // A group that failed after it began to write into the batch leaves
          // part of itself there, so nothing joins the batch again. Alone in
          // it, the group is dropped with it (a batch without groups is
          // closed, not written); beside other groups, the batch cannot be
          // written, so writing stops, as after a failed write, and a
          // restart resumes from what is durable. (A group before it still
          // finishing adds to the batch too: that counts as this one's.)
          if (set.batch.length !== ops) {
            set.sealed = true;
            if (set.groups.length > 0) this.broken ??= writesStopped(e);
          }
        } finally {
          set.filling = null;
        }
        if (!writing) writer = writeAll();
      }
    } finally {
      this.draining = false;
    }
  }

  /** The next group from the queue, and how many requests it holds. */
  private takeGroup(): { group: Pending<S, A>[]; requests: number } {
    const group: Pending<S, A>[] = [];
    let requests = 0;
    while (this.queue.length > 0) {
      const n = this.queue[0]!.requests;
      // A submission larger than the limit is a group alone.
      if (group.length > 0 && requests + n > this.maxGroupRequests) break;
      group.push(this.queue.shift()!);
      requests += n;
      this.queuedRequests -= n;
    }
    return { group, requests };
  }

  /** Writes a batch, then publishes its groups and answers their submitters, in order. Never throws. */
  private async writeSet(set: WriteSet<S, G, A>): Promise<void> {
    const newest = set.groups.at(-1)?.prepared;
    try {
      await Promise.all(set.finishing);
      if (this.broken) throw this.broken;
      // A batch without groups holds at most part of a group that failed: it is closed, not written.
      if (newest && set.batch.length > 0) {
        const started = performance.now();
        await set.batch.write({ sync: true });
        this.writes++;
        // Before any await: the next batch is written only after this returns.
        this.stages.written(newest, performance.now() - started);
      }
    } catch (e) {
      this.broken ??= writesStopped(e);
      for (const { pending } of set.groups) for (const p of pending) p.reject(this.broken);
      return;
    } finally {
      // Written or not, its native memory goes (closing a written batch is a no-op).
      await set.batch.close().catch(() => undefined);
    }
    for (const { prepared, pending, requests } of set.groups) {
      this.stages.publish(prepared, { requests, write: this.writes });
      pending.forEach((p, i) => {
        const a = prepared.answers[i]!;
        if (a instanceof KeyProofError) p.reject(a);
        else p.resolve(a);
      });
    }
  }
}
