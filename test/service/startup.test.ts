import { expect } from "chai";
import path from "node:path";
import pino from "pino";
import { configSchema } from "../../service/config.js";
import { startService } from "../../service/server.js";
import { cleanup, tempDir } from "../helpers/ledger.js";
import { freePort, holdPort, releasePort } from "../helpers/ports.js";

describe("service start-up", function () {
  this.timeout(60_000);
  const dir = tempDir("keyproof-startup-");
  after(() => cleanup(dir));

  it("fails on an HTTP port in use, giving back its embedded chain and its ledger, with no operator token stored; the next start succeeds and shows one", async () => {
    const [port, chainPort] = [await freePort(), await freePort()];
    const config = configSchema.parse({
      PORT: String(port),
      DATA_DIR: path.join(dir, "data"),
      CHAIN_PORT: String(chainPort),
      ANCHOR_INTERVAL: "0",
      LOG_LEVEL: "silent",
    });
    const squatter = await holdPort(port);
    try {
      let failure: unknown;
      await startService(config, pino({ level: "silent" })).catch((e: unknown) => (failure = e));
      expect((failure as NodeJS.ErrnoException | undefined)?.code).to.equal("EADDRINUSE");
    } finally {
      await releasePort(squatter);
    }
    // The chain's port is free again, and the ledger's lock is released.
    await releasePort(await holdPort(chainPort));
    const svc = await startService(config, pino({ level: "silent" }));
    try {
      expect((await fetch(`${svc.url}/healthz`)).status).to.equal(200);
      expect(svc.url).to.equal(`http://127.0.0.1:${port}`);
      // The failed start generated no token that nobody saw: this one is new, shown, and works.
      expect(svc.operatorToken).to.be.a("string");
      const reg = await fetch(`${svc.url}/v1/participants`, {
        method: "POST",
        headers: { "content-type": "application/json", authorization: `Bearer ${svc.operatorToken}` },
        body: JSON.stringify({ id: "acme", role: "issuer", name: "Acme" }),
      });
      expect(reg.status).to.equal(201);
    } finally {
      await svc.stop();
    }
  });
});
