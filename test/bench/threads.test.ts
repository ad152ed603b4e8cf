import { pbkdf2 } from "node:crypto";
import { promisify } from "node:util";
import { expect } from "chai";
import { cpuPerEvent, threadCpu, withOwnThreads, type ThreadCpu } from "../../bench/lib/threads.js";

const spin = (ms: number): void => {
  const end = performance.now() + ms;
  while (performance.now() < end);
};
const delta = (a: ThreadCpu, b: ThreadCpu): ThreadCpu => ({
  main: b.main - a.main,
  pool: b.pool - a.pool,
  compaction: b.compaction - a.compaction,
  v8: b.v8 - a.v8,
});

describe("bench: CPU by thread (bench/lib/threads.ts)", () => {
  it("counts the event loop's own work as main, and work in libuv's pool as pool", async () => {
    // pbkdf2 runs in libuv's pool: started here, the pool exists before the first reading.
    const hash = promisify(pbkdf2);
    await hash("warm", "salt", 1, 32, "sha256");
    const before = threadCpu(process.pid)!;
    spin(300);
    const mid = threadCpu(process.pid)!;
    // For a time, not a count of iterations: on a fast VM 400,000 iterations took less than the 100 ms asserted below.
    const started = performance.now();
    while (performance.now() - started < 300) await Promise.all([0, 1].map((i) => hash(`p${i}`, "salt", 50_000, 32, "sha256")));
    const after = threadCpu(process.pid)!;
    const spun = delta(before, mid);
    const pooled = delta(mid, after);
    expect(spun.main).to.be.at.least(200);
    expect(spun.pool + spun.compaction).to.be.below(100);
    expect(pooled.pool).to.be.at.least(100);
    expect(pooled.main).to.be.below(pooled.pool);
  });

  it("gives nothing for a process that is not there, and per-event figures in microseconds", () => {
    expect(threadCpu(2 ** 30)).to.equal(null);
    const zero = { main: 0, pool: 0, compaction: 0, v8: 0 };
    expect(cpuPerEvent(zero, { main: 230, pool: 90, compaction: 140, v8: 75 }, 1000)).to.equal(
      "main 230, LevelDB pool 90, compaction 140, V8 75 µs of CPU an event",
    );
    expect(cpuPerEvent(zero, { main: 2300, pool: 0, compaction: 500, v8: 310 }, 1000, "a request")).to.equal(
      "main 2300, LevelDB pool 0, compaction 500, V8 310 µs of CPU a request",
    );
    expect(cpuPerEvent(null, zero, 1000)).to.equal("");
    // The service's own threads, counted with the compaction thread by /proc's order, taken out of it by what the metrics say.
    const withThread = withOwnThreads({ main: 1000, pool: 0, compaction: 900, v8: 60 }, { bundles: 700, map: NaN });
    expect(withThread).to.deep.equal({ main: 1000, pool: 0, compaction: 200, v8: 60, bundles: 700 });
    expect(cpuPerEvent(withOwnThreads(zero, { bundles: 0 }), withThread, 1000, "a request")).to.equal(
      "main 1000, LevelDB pool 0, compaction 200, V8 60, bundle thread 700 µs of CPU a request",
    );
    const withMap = withOwnThreads({ main: 600, pool: 90, compaction: 900, v8: 60 }, { bundles: 0, map: 400 });
    expect(withMap).to.deep.equal({ main: 600, pool: 90, compaction: 500, v8: 60, bundles: 0, map: 400 });
    expect(cpuPerEvent(withOwnThreads(zero, { bundles: 0, map: 0 }), withMap, 10_000)).to.equal(
      "main 60, LevelDB pool 9, compaction 50, V8 6, map thread 40, bundle thread 0 µs of CPU an event",
    );
    expect(withOwnThreads(zero, { bundles: NaN, map: NaN })).to.deep.equal(zero);
  });
});
