import { readdirSync } from "node:fs";
import { expect } from "chai";
import type { Ledger } from "../../service/store/ledger.js";
import { serveApp, type ServedApp } from "../helpers/app.js";
import { cleanup, openTestLedger } from "../helpers/ledger.js";

describe("GET /metrics", () => {
  let dir: string;
  let ledger: Ledger;
  let served: ServedApp;

  before(async () => {
    ({ dir, ledger } = await openTestLedger());
    served = await serveApp(ledger);
  });
  after(async () => {
    await served.close();
    await ledger.close();
    cleanup(dir);
  });

  const metrics = async (): Promise<Map<string, number>> => {
    const text = await (await fetch(`${served.url}/metrics`)).text();
    return new Map(
      text
        .split("\n")
        .filter((l) => l.startsWith("keyproof_"))
        .map((l) => {
          const at = l.lastIndexOf(" ");
          return [l.slice(0, at), Number(l.slice(at + 1))];
        }),
    );
  };
  const verify = (code: string) =>
    fetch(`${served.url}/v1/verify`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ code }) });

  it("counts the events appended, the events of each group commit, its synced writes by time, and verifications by result", async () => {
    const before = await metrics();
    await ledger.submit({ actor: "acme", requests: [{ type: "issue", code: "METRICS-0001", sku: "s" }] });
    await ledger.submit({
      actor: "acme",
      requests: [
        { type: "issue", code: "METRICS-0002", sku: "s" },
        { type: "issue", code: "METRICS-0001", sku: "s" }, // refused: not appended
        { type: "sell", code: "METRICS-0002", order: "o-1" },
      ],
    });
    expect((await verify("METRICS-0001")).status).to.equal(200);
    expect((await verify("METRICS-NEVER")).status).to.equal(404);
    expect((await verify("METRICS-0002")).status).to.equal(200);
    const after = await metrics();
    const grew = (name: string): number => (after.get(name) ?? 0) - (before.get(name) ?? 0);
    expect(grew("keyproof_events_appended_total")).to.equal(3);
    expect(grew("keyproof_batch_events_count")).to.equal(2);
    expect(grew("keyproof_batch_events_sum")).to.equal(3);
    // Two submissions one after the other: two writes, each of them timed.
    expect(grew("keyproof_batch_write_seconds_count")).to.equal(2);
    expect(grew('keyproof_batch_write_seconds_bucket{le="+Inf"}')).to.equal(2);
    expect(grew("keyproof_batch_write_seconds_sum")).to.be.greaterThan(0);
    expect(grew('keyproof_verify_requests_total{result="found"}')).to.equal(2);
    expect(grew('keyproof_verify_requests_total{result="unknown_key"}')).to.equal(1);
    expect(after.get("keyproof_anchor_lag_entries")).to.equal(Number(ledger.size));
  });

  it("reports LevelDB's memtables and block cache, and its table files", async () => {
    const before = await metrics();
    // A fresh store's memtable holds its first events: what it takes shows, and grows with a write.
    expect(before.get("keyproof_store_memory_bytes")).to.be.greaterThan(0);
    await ledger.submit({
      actor: "acme",
      requests: Array.from({ length: 50 }, (_, i) => ({ type: "issue" as const, code: `METRICS-MEM-${i}`, sku: "s" })),
    });
    const after = await metrics();
    expect(after.get("keyproof_store_memory_bytes")).to.be.greaterThan(before.get("keyproof_store_memory_bytes")!);
    // Nothing flushed yet; after a compaction the memtable's records are in a table file.
    expect(after.get("keyproof_store_table_files")).to.equal(countTables(dir));
    await ledger.db.compactRange(new Uint8Array([0]), new Uint8Array([0xff]));
    const compacted = await metrics();
    expect(compacted.get("keyproof_store_table_files")).to.equal(countTables(dir)).and.to.be.greaterThan(0);
  });

  it("counts the event loop's time at work, not its time waiting", async () => {
    const busy = (m: Map<string, number>): number => m.get("keyproof_event_loop_busy_seconds_total")!;
    const t0 = performance.now();
    const before = await metrics();
    // 300 ms of work in one callback: the loop is at work throughout.
    for (const until = performance.now() + 300; performance.now() < until;);
    const worked = await metrics();
    const t1 = performance.now();
    // 300 ms waiting on a timer: the loop is idle nearly throughout.
    await new Promise((r) => setTimeout(r, 300));
    const waited = await metrics();
    const t2 = performance.now();
    expect(busy(worked) - busy(before))
      .to.be.at.least(0.3)
      .and.at.most((t1 - t0) / 1000);
    expect(busy(waited) - busy(worked)).to.be.lessThan((0.5 * (t2 - t1)) / 1000);
  });
});

/** LevelDB's table files in a store directory, as the file system lists them. */
function countTables(dir: string): number {
  return readdirSync(dir, { recursive: true, encoding: "utf8" }).filter((f) => f.endsWith(".ldb")).length;
}
