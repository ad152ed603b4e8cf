import { expect } from "chai";
import { judge, verdictLines, type LoadFigures } from "../../bench/lib/targets.js";

const figures = (): LoadFigures => ({
  verify: { asked: 500, answered: 500, failed: 0, p99: 9.1 },
  singles: { asked: 1000, answered: 997, failed: 0, p99: 40 },
  batched: { asked: 10, answered: 10, failed: 0, p99: 49.9 },
  ingest: [
    { title: "100 a request, 4 conns", eventsPerSecond: 9_000, failed: 0 },
    { title: "100 a request, 32 conns", eventsPerSecond: 10_500, failed: 0 },
  ],
});

describe("bench: issue #8's targets judged from a load run (bench/lib/targets.ts)", () => {
  it("meets each target within its bound, and names the best write run", () => {
    const v = judge(figures());
    expect(v.map((x) => x.met)).to.deep.equal([true, true, true, true]);
    expect(v[1]!.measured).to.equal("10500 events/s at best (100 a request, 32 conns)");
  });

  it("fails a paced target over its p99, or when the service did not keep up with the rate", () => {
    const slow = figures();
    slow.verify.p99 = 20.1;
    expect(judge(slow)[0]!.met).to.equal(false);
    // A low p99 over 90 % of the load is not the promise.
    const behind = figures();
    behind.singles.answered = 900;
    expect(judge(behind)[2]!.met).to.equal(false);
    const failing = figures();
    failing.batched.failed = 1;
    expect(judge(failing)[3]!.met).to.equal(false);
    expect(judge(failing)[3]!.measured).to.contain("1 failed");
  });

  it("does not count a write run with failures toward ingest", () => {
    const f = figures();
    f.ingest[1]!.failed = 3;
    expect(judge(f)[1]).to.include({ met: false, measured: "9000 events/s at best (100 a request, 4 conns)" });
    f.ingest[0]!.failed = 1;
    expect(judge(f)[1]).to.include({ met: false, measured: "every write run had failures" });
  });

  it("prints one aligned line a target", () => {
    const lines = verdictLines(judge({ ...figures(), ingest: [{ title: "t", eventsPerSecond: 2_890, failed: 0 }] }));
    expect(lines).to.have.length(4);
    expect(lines[1]).to.match(/^durable ingest ≥ 10,000 events\/s +NOT MET {3}2890 events\/s at best \(t\)$/);
    // The verdicts start in one column.
    expect(new Set(lines.map((l) => l.search(/ {3}(met|NOT MET) {3}/)))).to.have.length(1);
  });
});
