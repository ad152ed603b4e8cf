import { expect } from "chai";
import { KeyProofError } from "../../service/core/errors.js";
import { GroupCommit, type GroupStages } from "../../service/store/group-commit.js";
import type { ChainedBatch, Db } from "../../service/store/map-store.js";

/** A submission: its name, how many requests it counts for, and whether preparing it fails (after writing, or before). */
interface Sub {
  name: string;
  requests?: number;
  fail?: "before-writing" | "after-writing";
  /** Preparing it waits for this. */
  slow?: Promise<void>;
  /** Its group's last step (`finished`) waits for this, after `prepare` resolved: the next group is prepared meanwhile. */
  last?: Promise<void>;
}
interface Group {
  names: string[];
  answers: (string | KeyProofError)[];
}

/**
 * A LevelDB stand-in whose batches record what was put into them and whose
 * writes wait until the test lets them go (or fail, when told to), so that
 * what arrives during a write is under the test's control.
 */
function harness(o: { maxGroupRequests?: number; overlapRequests?: number } = {}) {
  const written: string[][] = [];
  const gates: { release: () => void; fail: (e: Error) => void }[] = [];
  const published: { names: string[]; write: number; requests: number }[] = [];
  /** Each group's names once prepared (before its write). */
  const prepared: string[][] = [];
  const db = {
    batch: () => {
      const puts: string[] = [];
      return {
        get length() {
          return puts.length;
        },
        put: (name: string) => void puts.push(name),
        write: () =>
          new Promise<void>((resolve, reject) =>
            gates.push({
              release: () => {
                written.push(puts);
                resolve();
              },
              fail: reject,
            }),
          ),
        close: () => Promise.resolve(),
      };
    },
  } as unknown as Db;
  const stages: GroupStages<Sub, Group, string> = {
    requests: (s) => s.requests ?? 1,
    prepare: async (batch: ChainedBatch, subs: Sub[]) => {
      await Promise.resolve();
      const put = batch.put as unknown as (name: string) => void;
      for (const s of subs) {
        await s.slow;
        if (s.fail === "before-writing") throw new Error(`${s.name} refused`);
        put(s.name);
        if (s.fail === "after-writing") throw new Error(`${s.name} failed half way`);
      }
      prepared.push(subs.map((s) => s.name));
      const lasts = subs.flatMap((s) => (s.last ? [s.last] : []));
      const finished = lasts.length > 0 ? Promise.all(lasts).then(() => undefined) : undefined;
      return { names: subs.map((s) => s.name), answers: subs.map((s) => `${s.name} durable`), ...(finished ? { finished } : {}) };
    },
    written: () => undefined,
    publish: (g, info) => published.push({ names: g.names, ...info }),
  };
  // Overlap from the first queued request unless told otherwise: most tests are about what a write overlaps.
  const commit = new GroupCommit(db, stages, o.maxGroupRequests ?? 100, o.overlapRequests ?? 1);
  /** Lets the oldest waiting write finish (after the sequencer has reached it). */
  const release = async (): Promise<void> => {
    await until(() => gates.length > 0);
    gates.shift()!.release();
  };
  const failWrite = async (e: Error): Promise<void> => {
    await until(() => gates.length > 0);
    gates.shift()!.fail(e);
  };
  return { commit, written, published, prepared, release, failWrite, pendingWrites: () => gates.length };
}

async function until(cond: () => boolean): Promise<void> {
  for (let i = 0; i < 1000 && !cond(); i++) await new Promise((r) => setImmediate(r));
  if (!cond()) throw new Error("the condition never held");
}

/** Tracks a promise's outcome without awaiting it. */
function watch<T>(p: Promise<T>): { settled: () => boolean; value: () => T | undefined; error: () => unknown } {
  let done = false;
  let value: T | undefined;
  let error: unknown;
  p.then(
    (v) => ((done = true), (value = v)),
    (e: unknown) => ((done = true), (error = e)),
  );
  return { settled: () => done, value: () => value, error: () => error };
}

const ticks = async (n = 20): Promise<void> => {
  for (let i = 0; i < n; i++) await new Promise((r) => setImmediate(r));
};

describe("group commit (the ledger's sequencer)", () => {
  it("answers a submission only once the batch holding it is durable", async () => {
    const h = harness();
    const a = watch(h.commit.submit({ name: "a" }));
    await ticks();
    expect(h.pendingWrites()).to.equal(1);
    expect(a.settled(), "answered before its write").to.equal(false);
    await h.release();
    await until(a.settled);
    expect(a.value()).to.equal("a durable");
    expect(h.written).to.deep.equal([["a"]]);
    await h.commit.idle();
  });

  it("prepares what arrives during a write into the next batch: groups share one write, answered in order", async () => {
    const h = harness();
    const a = watch(h.commit.submit({ name: "a" }));
    await until(() => h.pendingWrites() === 1);
    // Two groups prepared one after the other while the first batch is written.
    const b = watch(h.commit.submit({ name: "b" }));
    await ticks();
    const c = watch(h.commit.submit({ name: "c" }));
    await ticks();
    expect(h.pendingWrites(), "nothing else is written while a write is out").to.equal(1);
    await h.release();
    await h.release();
    await until(() => c.settled());
    expect([a.value(), b.value(), c.value()]).to.deep.equal(["a durable", "b durable", "c durable"]);
    expect(h.written).to.deep.equal([["a"], ["b", "c"]]);
    expect(h.published).to.deep.equal([
      { names: ["a"], write: 1, requests: 1 },
      { names: ["b"], write: 2, requests: 1 },
      { names: ["c"], write: 2, requests: 1 },
    ]);
    await h.commit.idle();
  });

  it("during a write, holds back a queue smaller than overlapRequests and prepares it as one group once the write is done", async () => {
    const h = harness({ overlapRequests: 4 });
    const a = watch(h.commit.submit({ name: "a" }));
    await until(() => h.pendingWrites() === 1);
    const small = [watch(h.commit.submit({ name: "b" })), watch(h.commit.submit({ name: "c" }))];
    await ticks();
    await ticks();
    expect(h.prepared, "nothing prepared beside the write").to.deep.equal([["a"]]);
    await h.release();
    await until(a.settled);
    await h.release();
    await until(() => small.every((w) => w.settled()));
    expect(h.published.map((p) => p.names)).to.deep.equal([["a"], ["b", "c"]]);
    expect(h.written).to.deep.equal([["a"], ["b", "c"]]);

    // A queue that reaches the threshold is prepared during the write, into the next batch.
    const d = watch(h.commit.submit({ name: "d" }));
    await until(() => h.pendingWrites() === 1);
    const big = watch(h.commit.submit({ name: "e", requests: 4 }));
    await until(() => h.prepared.length === 4);
    expect(h.prepared.at(-1)).to.deep.equal(["e"]);
    expect(d.settled(), "e is prepared while d's write is out").to.equal(false);
    expect(h.pendingWrites()).to.equal(1);
    await h.release();
    await h.release();
    await until(() => d.settled() && big.settled());
    expect(h.written).to.deep.equal([["a"], ["b", "c"], ["d"], ["e"]]);
    await h.commit.idle();
  });

  it("seals a batch once its write is due: what arrives while its last group is still being prepared goes to the next", async () => {
    const h = harness();
    const a = watch(h.commit.submit({ name: "a" }));
    await until(() => h.pendingWrites() === 1);
    let go!: () => void;
    const b = watch(h.commit.submit({ name: "b", slow: new Promise<void>((r) => (go = r)) }));
    await ticks();
    await h.release(); // a is durable; the writer now waits for b to be prepared
    await until(a.settled);
    const c = watch(h.commit.submit({ name: "c" }));
    await ticks();
    go();
    await h.release();
    await h.release();
    await until(() => b.settled() && c.settled());
    expect(h.written).to.deep.equal([["a"], ["b"], ["c"]]);
    await h.commit.idle();
  });

  it("takes queued submissions as one group up to the request limit; a larger one is a group alone", async () => {
    const h = harness({ maxGroupRequests: 10 });
    const first = watch(h.commit.submit({ name: "first" }));
    await until(() => h.pendingWrites() === 1);
    const queued = [
      h.commit.submit({ name: "p", requests: 4 }),
      h.commit.submit({ name: "q", requests: 6 }),
      h.commit.submit({ name: "r", requests: 30 }),
      h.commit.submit({ name: "s", requests: 1 }),
    ];
    await ticks();
    await h.release();
    await h.release();
    await Promise.all(queued);
    await until(first.settled);
    expect(h.published.map((p) => p.names)).to.deep.equal([["first"], ["p", "q"], ["r"], ["s"]]);
    // Prepared during one write, the three groups still share the next.
    expect(h.written).to.deep.equal([["first"], ["p", "q", "r", "s"]]);
    await h.commit.idle();
  });

  it("after a failed write refuses its groups and every later submission with the same error, and writes nothing more", async () => {
    const h = harness();
    const a = watch(h.commit.submit({ name: "a" }));
    await until(() => h.pendingWrites() === 1);
    const b = watch(h.commit.submit({ name: "b" }));
    await ticks();
    await h.failWrite(new Error("disk full"));
    await until(() => a.settled() && b.settled());
    const failure = h.commit.failure;
    expect(failure).to.be.instanceOf(KeyProofError);
    expect(failure!.code).to.equal("STORAGE_UNAVAILABLE");
    expect((failure!.cause as Error).message).to.equal("disk full");
    expect(a.error()).to.equal(failure);
    expect(b.error(), "prepared on top of the failed batch").to.equal(failure);
    let later: unknown;
    await h.commit.submit({ name: "c" }).catch((e: unknown) => (later = e));
    expect(later).to.equal(failure);
    await h.commit.idle();
    expect(h.written).to.deep.equal([]);
    expect(h.pendingWrites()).to.equal(0);
  });

  it("prepares the next group while a group's last step goes on, writes a batch once all of its groups finished; a last step that fails stops writing", async () => {
    const h = harness({ maxGroupRequests: 1 });
    let finish!: () => void;
    let failLast!: (e: Error) => void;
    const a = watch(h.commit.submit({ name: "a", last: new Promise<void>((r) => (finish = r)) }));
    const b = watch(h.commit.submit({ name: "b" }));
    await ticks();
    // b was prepared on top of a while a's last step goes on; a's batch waits for it.
    expect(h.prepared).to.deep.equal([["a"], ["b"]]);
    expect(h.pendingWrites()).to.equal(0);
    expect(a.settled()).to.equal(false);
    finish();
    await h.release();
    await h.release();
    await until(() => a.settled() && b.settled());
    expect([a.value(), b.value()]).to.deep.equal(["a durable", "b durable"]);
    expect(h.written).to.deep.equal([["a"], ["b"]]);

    // A last step that fails: its group is told why at once, though a write is pending; the ones beside it and after it, that writing stopped.
    const c = watch(h.commit.submit({ name: "c" }));
    await until(() => h.pendingWrites() === 1);
    const d = watch(h.commit.submit({ name: "d", last: new Promise<void>((_, reject) => (failLast = reject)) }));
    const e = watch(h.commit.submit({ name: "e" }));
    await ticks();
    failLast(new Error("d's map update failed"));
    await until(d.settled);
    expect((d.error() as Error).message).to.equal("d's map update failed");
    expect(h.commit.failure?.code).to.equal("STORAGE_UNAVAILABLE");
    await h.release();
    await until(() => c.settled() && e.settled());
    expect(c.value(), "written before").to.equal("c durable");
    expect(e.error()).to.equal(h.commit.failure);
    expect((await h.commit.submit({ name: "f" }).catch((x: unknown) => x)) as Error).to.equal(h.commit.failure);
    await h.commit.idle();
    expect(h.written).to.deep.equal([["a"], ["b"], ["c"]]);
  });

  it("drops a group that fails alone in its batch and goes on; one that fails half way beside others stops writing", async () => {
    const h = harness();
    // Alone: refused, its half-written batch closed unwritten, the next submission written.
    let alone: unknown;
    await h.commit.submit({ name: "x", fail: "after-writing" }).catch((e: unknown) => (alone = e));
    expect((alone as Error).message).to.equal("x failed half way");
    expect(h.commit.failure).to.equal(null);
    const y = watch(h.commit.submit({ name: "y" }));
    await h.release();
    await until(y.settled);
    expect(y.value()).to.equal("y durable");

    // A refusal before writing anything leaves a shared batch whole.
    const a = watch(h.commit.submit({ name: "a" }));
    await until(() => h.pendingWrites() === 1);
    const b = watch(h.commit.submit({ name: "b" }));
    await ticks();
    const refused = watch(h.commit.submit({ name: "r", fail: "before-writing" }));
    await ticks();
    expect((refused.error() as Error).message).to.equal("r refused");
    // Beside b in the next batch, part of z is in it: that batch cannot be written.
    const z = watch(h.commit.submit({ name: "z", fail: "after-writing" }));
    await ticks();
    expect((z.error() as Error).message).to.equal("z failed half way");
    expect(h.commit.failure?.code).to.equal("STORAGE_UNAVAILABLE");
    await h.release();
    await until(() => a.settled() && b.settled());
    expect(a.value(), "written before the failure").to.equal("a durable");
    expect(b.error()).to.equal(h.commit.failure);
    await h.commit.idle();
    expect(h.written).to.deep.equal([["y"], ["a"]]);
  });
});
