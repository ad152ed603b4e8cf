/**
 * A disk that fails under the running service (full, or failing): writes are
 * refused with a stable 503 that tells the client what to do, the service
 * says it is unhealthy and why (in its log, not to clients), reads go on,
 * and a restart resumes from what is durable.
 */
import { expect } from "chai";
import { readFileSync } from "node:fs";
import path from "node:path";
import pino from "pino";
import { configSchema } from "../../service/config.js";
import { startService, type RunningService } from "../../service/server.js";
import { cleanup, onNextBatches, onReads, tempDir } from "../helpers/ledger.js";

const OPERATOR = "operator-token-for-storage-failure-01";
const DISK_FULL = "IO error: /srv/keyproof/data/ledger/000003.log: No space left on device";

describe("storage failure under the service", function () {
  this.timeout(60_000);
  const dir = tempDir("keyproof-storage-");
  const logFile = path.join(dir, "service.log");
  let svc: RunningService;
  // The failures are made under the main thread's LevelDB handle; the bundle thread's own (its reads fail
  // the same way, mapped to the same answer) is in bundle-thread.test.ts.
  const start = (verifyThread: "on" | "off" = "on") =>
    startService(
      configSchema.parse({
        PORT: "0",
        DATA_DIR: path.join(dir, "data"),
        ANCHORING: "off",
        OPERATOR_TOKEN: OPERATOR,
        LOG_LEVEL: "info",
        VERIFY_THREAD: verifyThread,
      }),
      pino({ level: "info" }, pino.destination({ dest: logFile, sync: true })),
    );
  const call = async (method: string, p: string, body?: unknown) => {
    const res = await fetch(`${svc.url}${p}`, {
      method,
      headers: { "content-type": "application/json", authorization: `Bearer ${OPERATOR}` },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    return { status: res.status, json: (await res.json()) as any }; // eslint-disable-line @typescript-eslint/no-explicit-any
  };
  const register = (id: string) => call("POST", "/v1/participants", { id, role: "issuer", name: id });
  after(async () => {
    await svc?.stop();
    cleanup(dir);
  });

  it("a read that fails while a request is prepared refuses that request alone, with 503 STORAGE_UNAVAILABLE", async () => {
    svc = await start();
    const token = (await register("acme")).json.token as string;
    const issue = async (code: string) => {
      const res = await fetch(`${svc.url}/v1/events`, {
        method: "POST",
        headers: { "content-type": "application/json", authorization: `Bearer ${token}` },
        body: JSON.stringify({ events: [{ type: "issue", code, sku: "s" }] }),
      });
      return { status: res.status, json: (await res.json()) as any }; // eslint-disable-line @typescript-eslint/no-explicit-any
    };
    // The first read of the code index: the issue's prepare.
    const stopReads = onReads(svc.ledger.db, (keys) => {
      if (!keys.some((k) => k[0] === "i".charCodeAt(0))) return;
      stopReads();
      throw Object.assign(new Error("IO error: /srv/keyproof/data/ledger/000042.ldb: Input/output error"), { code: "LEVEL_IO_ERROR" });
    });
    const refused = await issue("READ-0001-FAIL");
    expect(refused.status).to.equal(503);
    expect(refused.json.error).to.deep.equal({
      code: "STORAGE_UNAVAILABLE",
      message: "a storage read failed while this request was prepared; nothing of it was recorded: send it again",
    });
    expect((await call("GET", "/healthz")).status).to.equal(200);
    expect((await issue("READ-0001-FAIL")).status).to.equal(200);
    expect(readFileSync(logFile, "utf8")).to.contain("Input/output error").and.contain("a storage read failed");
    await svc.stop();
  });

  it("a read that fails under a read request (a token, a verification) answers 503 STORAGE_UNAVAILABLE, not 500", async () => {
    svc = await start("off");
    const failure = () => {
      const stop = onReads(svc.ledger.db, () => {
        stop();
        throw Object.assign(new Error("IO error: /srv/keyproof/data/ledger/000051.ldb: Input/output error"), { code: "LEVEL_IO_ERROR" });
      });
    };
    const expected = { code: "STORAGE_UNAVAILABLE", message: "a storage read failed while this request was served: try again later" };
    failure();
    const verify = await call("POST", "/v1/verify", { code: "NEVER-ISSUED-0001" });
    expect(verify).to.deep.equal({ status: 503, json: { error: expected } });
    failure();
    const res = await fetch(`${svc.url}/v1/events`, {
      method: "POST",
      headers: { "content-type": "application/json", authorization: "Bearer a-token-nobody-was-given-0123456789" },
      body: JSON.stringify({ events: [{ type: "issue", code: "READ-0002-FAIL", sku: "s" }] }),
    });
    expect({ status: res.status, json: await res.json() }).to.deep.equal({ status: 503, json: { error: expected } });
    // Reads that do not fail go on as before.
    expect((await call("POST", "/v1/verify", { code: "NEVER-ISSUED-0001" })).json.error.code).to.equal("UNKNOWN_KEY");
    expect((await call("GET", "/healthz")).status).to.equal(200);
    expect(readFileSync(logFile, "utf8")).to.contain("000051.ldb: Input/output error");
    await svc.stop();
  });

  it("refuses writes with 503 STORAGE_UNAVAILABLE, reports itself unhealthy, keeps serving reads, and resumes after a restart", async () => {
    svc = await start();
    expect((await register("umbrella")).status).to.equal(201);
    const size = svc.ledger.size;
    onNextBatches(svc.ledger, 1, (b) => {
      (b as { write: unknown }).write = () => Promise.reject(new Error(DISK_FULL));
    });
    const failed = await register("globex");
    expect(failed.status).to.equal(503);
    expect(failed.json.error.code).to.equal("STORAGE_UNAVAILABLE");
    expect(failed.json.error.message).to.contain("same Idempotency-Key").and.not.contain("/srv/keyproof");
    // Every later write too, with the same answer (the third one waited for ever, and the
    // stop below spun, when a drain that refused a request at once was taken for a live one).
    for (const id of ["initech", "hooli"]) expect(await register(id)).to.deep.equal(failed);
    expect(svc.ledger.size).to.equal(size);
    const health = await call("GET", "/healthz");
    expect(health.status).to.equal(503);
    expect(health.json).to.deep.include({ ok: false, size: Number(size) });
    expect(health.json.error.code).to.equal("STORAGE_UNAVAILABLE");
    expect((await call("GET", "/v1/log")).status).to.equal(200);
    expect((await fetch(`${svc.url}/checkpoint`)).status).to.equal(200);
    // The cause is in the log, once, for the operator.
    const fatal = readFileSync(logFile, "utf8")
      .split("\n")
      .filter((l) => l.includes('"level":60'));
    expect(fatal).to.have.length(1);
    expect(fatal[0]).to.contain("No space left on device").and.contain("restart the service");

    await svc.stop();
    svc = await start();
    expect((await call("GET", "/healthz")).json).to.deep.equal({ ok: true, size: Number(size) });
    expect((await register("globex")).status).to.equal(201);
  });
});
