import { expect } from "chai";
import { existsSync } from "node:fs";
import pino from "pino";
import type { Worker } from "node:worker_threads";
import { BundleThread, bundlesInThread, outcomeOf, replyOf } from "../../service/bundle-thread.js";
import type { LogInfo } from "../../service/bundle.js";
import { KeyProofError } from "../../service/core/errors.js";
import { logIdOf } from "../../service/core/index.js";
import { verifyBundle } from "../../service/core/bundle/verify.js";
import type { Ledger } from "../../service/store/ledger.js";
import { serveApp } from "../helpers/app.js";
import { closeTestLedger, openTestLedger, ORIGIN, PEPPER } from "../helpers/ledger.js";

/** A pino logger whose lines the test reads. */
function capturedLog(): { log: pino.Logger; lines: () => string[] } {
  const out: string[] = [];
  return { log: pino({ level: "info" }, { write: (l: string) => void out.push(l) }), lines: () => out };
}

describe("the bundle thread (bundle-thread.ts)", function () {
  this.timeout(60_000);
  let dir: string;
  let ledger: Ledger;
  let info: LogInfo;

  beforeEach(async () => {
    ({ dir, ledger } = await openTestLedger());
    info = { origin: ORIGIN, verifierKey: ledger.verifierKey, logId: logIdOf(ORIGIN), chainId: null, contract: null };
  });
  afterEach(() => closeTestLedger(ledger, dir));

  it("answers the JSON the service's own thread answers, and a code never issued as UNKNOWN_KEY", async () => {
    const codes = Array.from({ length: 20 }, (_, i) => `THREAD-${String(i).padStart(4, "0")}`);
    await ledger.submit({ actor: "acme", requests: codes.map((code) => ({ type: "issue" as const, code, sku: "s" })) });
    await ledger.submit({ actor: "acme", requests: [{ type: "sell", code: codes[3]!, order: "ORD-3" }] });
    const thread = await BundleThread.start(ledger, { dir, pepper: PEPPER, log: pino({ level: "silent" }) });
    try {
      const here = bundlesInThread(ledger);
      const answers = await Promise.all(codes.map((code) => thread.bundle(code, info)));
      for (const [i, code] of codes.entries()) expect(answers[i]).to.equal(await here.bundle(code, info));
      const err = await thread.bundle("NEVER-ISSUED", info).then(
        () => null,
        (e: unknown) => e,
      );
      expect(err).to.be.instanceOf(KeyProofError);
      expect((err as KeyProofError).code).to.equal("UNKNOWN_KEY");
    } finally {
      await thread.close();
    }
  });

  it("proves each key's newest event while writes go on beside it", async () => {
    const codes = Array.from({ length: 30 }, (_, i) => `RACE-${String(i).padStart(4, "0")}`);
    await ledger.submit({ actor: "acme", requests: codes.map((code) => ({ type: "issue" as const, code, sku: "s" })) });
    const thread = await BundleThread.start(ledger, { dir, pepper: PEPPER, log: pino({ level: "silent" }) });
    try {
      for (const [i, code] of codes.entries()) {
        // The sale is acknowledged durable before the bundle is asked for: the bundle must hold it.
        await ledger.submit({ actor: "acme", requests: [{ type: "sell", code, order: `ORD-${i}` }] });
        const [json] = await Promise.all([
          thread.bundle(code, info),
          ledger.submit({ actor: "acme", requests: [{ type: "issue", code: `RACE-NEW-${i}`, sku: "s" }] }),
        ]);
        const bundle = JSON.parse(json) as { state: { status: string } };
        expect(bundle.state.status).to.equal("sold");
        const report = await verifyBundle(bundle, { code, order: `ORD-${i}`, trusted: { verifierKey: ledger.verifierKey } });
        expect(report.ok, JSON.stringify(report.checks.filter((c) => c.ok !== true))).to.equal(true);
      }
    } finally {
      await thread.close();
    }
  });

  it("when the thread dies, builds what it was asked and everything after on the calling thread, and says so once", async () => {
    await ledger.submit({ actor: "acme", requests: [{ type: "issue", code: "DIES-0001", sku: "s" }] });
    const { log, lines } = capturedLog();
    const thread = await BundleThread.start(ledger, { dir, pepper: PEPPER, log });
    const expected = await bundlesInThread(ledger).bundle("DIES-0001", info);
    const worker = (thread as unknown as { worker: Worker }).worker;
    const asked = thread.bundle("DIES-0001", info);
    await worker.terminate();
    expect(await asked).to.equal(expected);
    expect(await thread.bundle("DIES-0001", info)).to.equal(expected);
    const errors = lines().filter((l) => l.includes("built on the service's main thread from now on"));
    expect(errors).to.have.length(1);
    expect(errors[0]).not.to.contain("DIES-0001");
    await thread.close();
  });

  it("tells the service's metrics the CPU time its thread used (Linux)", async () => {
    const codes = Array.from({ length: 50 }, (_, i) => `CPU-${String(i).padStart(4, "0")}`);
    await ledger.submit({ actor: "acme", requests: codes.map((code) => ({ type: "issue" as const, code, sku: "s" })) });
    const thread = await BundleThread.start(ledger, { dir, pepper: PEPPER, log: pino({ level: "silent" }) });
    try {
      const served = await serveApp(ledger, { bundles: thread });
      try {
        const cpu = async (): Promise<number> => {
          const text = await (await fetch(`${served.url}/metrics`)).text();
          return Number(/^keyproof_bundle_thread_cpu_seconds_total (\S+)$/m.exec(text)?.[1]);
        };
        const before = await cpu();
        expect(before).to.be.at.least(0);
        // Its own thread's time, not the process's: the calling thread spinning leaves it as it was.
        const spinUntil = performance.now() + 300;
        while (performance.now() < spinUntil);
        expect(await cpu()).to.be.below(before + 0.1);
        for (let round = 0; round < 20; round++) await Promise.all(codes.map((code) => thread.bundle(code, info)));
        expect(await cpu()).to.be.above(before);
      } finally {
        await served.close();
      }
    } finally {
      await thread.close();
    }
  });

  it("a failure in the thread reaches the caller as the same error the calling thread would throw", async () => {
    const fails = (e: unknown) => replyOf(7, () => Promise.reject(e));
    const unknown = outcomeOf(await fails(new KeyProofError("UNKNOWN_KEY", "no key with this code was issued")));
    expect(unknown).to.have.property("error").that.is.instanceOf(KeyProofError).and.deep.include({ code: "UNKNOWN_KEY" });
    // LevelDB failing under the thread's read: 503 STORAGE_UNAVAILABLE, as under the service's own thread.
    const io = Object.assign(new Error("IO error: /srv/data/ledger/000051.ldb: Input/output error"), { code: "LEVEL_IO_ERROR" });
    const storage = outcomeOf(await fails(io));
    expect(storage).to.have.property("error").that.is.instanceOf(KeyProofError).and.deep.include({ code: "STORAGE_UNAVAILABLE" });
    expect(((storage as { error: Error }).error.cause as Error).message).to.contain("000051.ldb: Input/output error");
    // Anything else: a plain error (500 INTERNAL), its text kept for the service's log.
    const bug = outcomeOf(await fails(new TypeError("x is undefined")));
    expect((bug as { error: Error }).error).not.to.be.instanceOf(KeyProofError);
    expect((bug as { error: Error }).error.message).to.equal("x is undefined");
    expect(outcomeOf(await replyOf(8, () => Promise.resolve("{}")))).to.deep.equal({ json: "{}" });
  });

  it("refuses to start on a store no ledger of this process holds", async () => {
    const elsewhere = `${dir}-elsewhere`;
    const err = await BundleThread.start(ledger, { dir: elsewhere, pepper: PEPPER, log: pino({ level: "silent" }) }).then(
      () => null,
      (e: unknown) => e as Error,
    );
    expect(err?.message).to.match(
      /^the bundle thread could not open the ledger: the ledger in .+-elsewhere could not be opened: there is no ledger there/,
    );
    // Refused before LevelDB could make the directory, its LOCK and its LOG there.
    expect(existsSync(elsewhere), elsewhere).to.equal(false);
  });
});
