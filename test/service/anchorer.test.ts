import { expect } from "chai";
import pino from "pino";
import { Anchorer } from "../../service/chain/anchorer.js";
import type { AnchorClient } from "../../service/chain/contract.js";
import type { Ledger } from "../../service/store/ledger.js";
import { closeTestLedger, openTestLedger } from "../helpers/ledger.js";

describe("anchorer and kept map views", () => {
  let dir: string;
  let ledger: Ledger;
  beforeEach(async () => ({ dir, ledger } = await openTestLedger()));
  afterEach(() => closeTestLedger(ledger, dir));

  const issue = (n: number): Promise<unknown> =>
    ledger.submit({ actor: "acme", requests: [{ type: "issue", code: `VIEW-${n}-KEY`, sku: "s" }] });

  it("steps that fail before sending let go of the view they kept, so the anchored size keeps its own", async () => {
    await issue(0);
    const anchored = ledger.size;
    expect(ledger.keepMapView(anchored)).to.equal(true); // as a successful anchor left it
    // The RPC is down: every step fails after it has kept the newest size's view.
    const down = { address: "0x0000000000000000000000000000000000000001", latest: () => Promise.reject(new Error("connect ECONNREFUSED")) };
    const anchorer = new Anchorer({
      ledger,
      logId: `0x${"00".repeat(32)}`,
      chainId: 31337,
      confirmations: 1,
      intervalSeconds: 3600,
      log: pino({ level: "silent" }),
      connect: () => Promise.resolve(down as unknown as AnchorClient),
    });
    const failed: bigint[] = [];
    for (let i = 1; i <= 6; i++) {
      await issue(i);
      failed.push(ledger.size);
      let error: unknown;
      await anchorer.anchorNow().catch((e: unknown) => (error = e));
      expect((error as Error).message).to.match(/ECONNREFUSED/);
      expect(ledger.keepsMapView(ledger.size)).to.equal(false);
    }
    await issue(100);
    expect(ledger.keepsMapView(anchored)).to.equal(true);
    // The failed sizes have no view left (the newest one went when the next batch landed).
    for (const size of failed) expect(ledger.keepMapView(size)).to.equal(false);
    await anchorer.stop();
  });
});
