import { expect } from "chai";
import type { Ledger } from "../../service/store/ledger.js";
import { serveApp, type ServedApp } from "../helpers/app.js";

describe("GET /v1/keys/<key> on a store whose state and map disagree", () => {
  let served: ServedApp;
  let proofs = 0;
  before(async () => {
    // The key's state says it is in the map, and the map says it is not, however often it is asked.
    const ledger = {
      size: 5n,
      mapThreadCpuSeconds: () => null,
      keyState: () => Promise.resolve({ index: 1 }),
      mapProof: () => {
        proofs++;
        return Promise.resolve({ siblings: [], leaf: null });
      },
    } as unknown as Ledger;
    served = await serveApp(ledger, { verifyRateLimit: 10 });
  });
  after(() => served.close());

  it("answers 500 INTERNAL after a bounded number of attempts instead of retrying forever", async () => {
    const res = await fetch(`${served.url}/v1/keys/${"ab".repeat(32)}`, { signal: AbortSignal.timeout(5000) });
    expect(res.status).to.equal(500);
    expect(((await res.json()) as { error: { code: string } }).error.code).to.equal("INTERNAL");
    expect(proofs).to.equal(20);
  });
});
