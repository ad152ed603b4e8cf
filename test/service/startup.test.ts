import { expect } from "chai";
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import path from "node:path";
import pino from "pino";
import { CONFIG_HELP, configSchema } from "../../service/config.js";
import { startService } from "../../service/server.js";
import { cleanup, tempDir } from "../helpers/ledger.js";
import { freePort, holdPort, releasePort } from "../helpers/ports.js";
import { runScript } from "../helpers/scripts.js";

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

  it("refuses a damaged secret file by its path, never its content; an uppercase one is read", async () => {
    const config = configSchema.parse({ PORT: "0", DATA_DIR: path.join(dir, "secrets"), ANCHORING: "off", LOG_LEVEL: "silent" });
    const first = await startService(config, pino({ level: "silent" }));
    const verifierKey = (await (await fetch(`${first.url}/v1/log`)).json()) as { verifierKey: string };
    await first.stop();
    // The signing key: read wrongly, the log would publish another verifier key.
    const file = path.join(dir, "secrets", "secrets", "checkpoint-ed25519.key");
    const seed = readFileSync(file, "utf8").trim();
    writeFileSync(file, `${seed.slice(0, 63)}\n`);
    const failure = await startService(config, pino({ level: "silent" })).then(
      () => null,
      (e: unknown) => e as Error,
    );
    expect(failure?.message).to.equal(`${file} does not hold 32 bytes as 64 hex digits: restore it from a backup`);
    expect(failure?.message).not.to.contain(seed.slice(0, 63));
    writeFileSync(file, `${seed.toUpperCase()}\n`);
    const again = await startService(config, pino({ level: "silent" }));
    try {
      expect(await (await fetch(`${again.url}/v1/log`)).json()).to.include(verifierKey);
    } finally {
      await again.stop();
    }
  });

  it("npm start -- --help lists the environment; an argument is refused before anything starts", async () => {
    const help = await runScript("service/main.ts", ["--help"]);
    expect(help.code, help.stderr).to.equal(0);
    for (const name of Object.keys(CONFIG_HELP)) expect(help.stdout).to.match(new RegExp(`^ {2}${name} `, "m"));
    const data = path.join(dir, "never");
    const wrong = await runScript("service/main.ts", ["--port", "9"], { DATA_DIR: data, ANCHORING: "off" });
    expect(wrong.code).to.equal(2);
    expect(wrong.stderr).to.contain("unknown option '--port'");
    expect(existsSync(data), "nothing was started").to.equal(false);
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
