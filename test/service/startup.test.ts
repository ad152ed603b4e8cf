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

  it("forgets Idempotency-Key answers older than IDEMPOTENCY_TTL_DAYS when it starts", async () => {
    const OPERATOR = "operator-token-for-startup-ttl-01";
    const start = (ttlDays: string) =>
      startService(
        configSchema.parse({
          PORT: "0",
          DATA_DIR: path.join(dir, "ttl"),
          ANCHORING: "off",
          OPERATOR_TOKEN: OPERATOR,
          IDEMPOTENCY_TTL_DAYS: ttlDays,
          LOG_LEVEL: "silent",
        }),
        pino({ level: "silent" }),
      );
    const issue = (url: string) =>
      fetch(`${url}/v1/events`, {
        method: "POST",
        headers: { "content-type": "application/json", authorization: `Bearer ${OPERATOR}`, "idempotency-key": "ttl-1" },
        body: JSON.stringify({ events: [{ type: "participant", id: "shop-ttl", role: "seller", name: "Shop" }] }),
      });
    let svc = await start("30");
    try {
      expect((await issue(svc.url)).status).to.equal(200);
      expect((await issue(svc.url)).status).to.equal(200); // a replay
    } finally {
      await svc.stop();
    }
    await new Promise((r) => setTimeout(r, 1200));
    svc = await start("0.00001"); // 0.864 s
    try {
      // The start-up sweep runs beside the first requests: until it is done they replay.
      let again = await issue(svc.url);
      for (let i = 0; i < 50 && again.status === 200; i++) {
        await new Promise((r) => setTimeout(r, 100));
        again = await issue(svc.url);
      }
      // Taken as new: the participant it registered exists.
      expect(again.status).to.equal(400);
      expect(((await again.json()) as { error: { message: string } }).error.message).to.match(/already registered/);
    } finally {
      await svc.stop();
    }
  });
});
