import { expect } from "chai";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import pino from "pino";
import { createApp } from "../../service/http/app.js";
import type { Ledger } from "../../service/store/ledger.js";

describe("GET /v1/keys/<key> on a store whose state and map disagree", () => {
  let server: Server;
  let url = "";
  let proofs = 0;
  before(async () => {
    // The key's state says it is in the map, and the map says it is not, however often it is asked.
    const ledger = {
      size: 5n,
      keyState: () => Promise.resolve({ index: 1 }),
      mapProof: () => {
        proofs++;
        return Promise.resolve({ siblings: [], leaf: null });
      },
    } as unknown as Ledger;
    const app = createApp({
      ledger,
      log: pino({ level: "silent" }),
      info: () => ({ origin: "o", verifierKey: "k", logId: "0x", chainId: null, contract: null, rpcUrl: null }),
      anchorer: () => null,
      verifyRateLimit: 10,
      bodyLimit: "1mb",
    });
    server = createServer(app);
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  after(
    () =>
      new Promise<void>((r) => {
        server.close(() => r());
        server.closeAllConnections();
      }),
  );

  it("answers 500 INTERNAL after a bounded number of attempts instead of retrying forever", async () => {
    const res = await fetch(`${url}/v1/keys/${"ab".repeat(32)}`, { signal: AbortSignal.timeout(5000) });
    expect(res.status).to.equal(500);
    expect(((await res.json()) as { error: { code: string } }).error.code).to.equal("INTERNAL");
    expect(proofs).to.equal(20);
  });
});
