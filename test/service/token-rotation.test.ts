/**
 * A participant's token leaks: the operator replaces it, and from that answer
 * on the old one is refused, across a restart too, while the new one acts as
 * the participant.
 */
import { expect } from "chai";
import path from "node:path";
import pino from "pino";
import { configSchema } from "../../service/config.js";
import { startService, type RunningService } from "../../service/server.js";
import { cleanup, tempDir } from "../helpers/ledger.js";

const OPERATOR = "operator-token-for-rotation-test-01";

describe("replacing a participant's token", function () {
  this.timeout(60_000);
  const dir = tempDir("keyproof-rotation-");
  const config = configSchema.parse({
    PORT: "0",
    DATA_DIR: path.join(dir, "data"),
    ANCHORING: "off",
    OPERATOR_TOKEN: OPERATOR,
    LOG_LEVEL: "silent",
  });
  let svc: RunningService;
  before(async () => (svc = await startService(config, pino({ level: "silent" }))));
  after(async () => {
    await svc?.stop();
    cleanup(dir);
  });

  const call = async (p: string, token: string, body: unknown = {}) => {
    const res = await fetch(`${svc.url}${p}`, {
      method: "POST",
      headers: { "content-type": "application/json", authorization: `Bearer ${token}` },
      body: JSON.stringify(body),
    });
    return { status: res.status, json: (await res.json()) as any }; // eslint-disable-line @typescript-eslint/no-explicit-any
  };
  const issue = (token: string, code: string) => call("/v1/events", token, { events: [{ type: "issue", code, sku: "s" }] });

  it("refuses the old token from the answer on, and after a restart; the new one acts as the participant", async () => {
    const acme = (await call("/v1/participants", OPERATOR, { id: "acme", role: "issuer", name: "Acme" })).json.token as string;
    const globex = (await call("/v1/participants", OPERATOR, { id: "globex", role: "issuer", name: "Globex" })).json.token as string;
    expect((await issue(acme, "ROTATE-0001")).status).to.equal(200); // the old token is known (and remembered) before

    const replaced = await call("/v1/participants/acme/token", OPERATOR);
    expect(replaced.status).to.equal(200);
    expect(replaced.json).to.include({ id: "acme", revoked: 1 });
    const fresh = replaced.json.token as string;
    expect(fresh)
      .to.match(/^[A-Za-z0-9_-]{43}$/)
      .and.not.equal(acme);

    expect((await issue(acme, "ROTATE-0002")).json.error).to.deep.equal({ code: "UNAUTHORIZED", message: "unknown token" });
    const done = await issue(fresh, "ROTATE-0003");
    expect(done.status).to.equal(200);
    // As acme: a key acme issued, acme may void.
    expect((await call("/v1/events", fresh, { events: [{ type: "void", code: "ROTATE-0001", reason: "test" }] })).status).to.equal(200);
    // Another participant's token is untouched.
    expect((await issue(globex, "ROTATE-0004")).status).to.equal(200);

    await svc.stop();
    svc = await startService(config, pino({ level: "silent" }));
    expect((await issue(acme, "ROTATE-0005")).status).to.equal(401);
    expect((await issue(fresh, "ROTATE-0006")).status).to.equal(200);
    // Replaced again: only the token handed out last is revoked now.
    expect((await call("/v1/participants/acme/token", OPERATOR)).json.revoked).to.equal(1);
    expect((await issue(fresh, "ROTATE-0007")).status).to.equal(401);
  });

  it("is the operator's alone, for registered participants only", async () => {
    const shop = (await call("/v1/participants", OPERATOR, { id: "shop-z", role: "seller", name: "Shop Z" })).json.token as string;
    expect((await call("/v1/participants/shop-z/token", shop)).json.error.code).to.equal("FORBIDDEN_ROLE");
    expect((await call("/v1/participants/nobody/token", OPERATOR)).json.error.code).to.equal("UNKNOWN_PARTICIPANT");
    expect((await call("/v1/participants/operator/token", OPERATOR)).json.error.code).to.equal("UNKNOWN_PARTICIPANT");
    expect((await call("/v1/participants/Not%20An%20Id/token", OPERATOR)).json.error.code).to.equal("INVALID_INPUT");
    // Two replacements at once leave exactly one token standing.
    const [a, b] = await Promise.all([call("/v1/participants/shop-z/token", OPERATOR), call("/v1/participants/shop-z/token", OPERATOR)]);
    const statuses = await Promise.all(
      [a.json.token, b.json.token].map(async (t: string) => (await issue(t, `Z-${t.slice(0, 6)}`)).status),
    );
    expect(statuses.sort()).to.deep.equal([401, 403]); // the survivor is a seller's: it may not issue
    expect((await call("/v1/participants/shop-z/token", OPERATOR)).json.revoked).to.equal(1);
  });

  it("a start with another OPERATOR_TOKEN retires the operator's earlier token, generated or set", async () => {
    await svc.stop();
    const next = "operator-token-after-the-leak-0002";
    svc = await startService({ ...config, OPERATOR_TOKEN: next }, pino({ level: "silent" }));
    const register = (token: string, id: string) => call("/v1/participants", token, { id, role: "seller", name: id });
    expect((await register(OPERATOR, "shop-y")).json.error).to.deep.equal({ code: "UNAUTHORIZED", message: "unknown token" });
    expect((await register(next, "shop-y")).status).to.equal(201);
    await svc.stop();
    // Without OPERATOR_TOKEN the last one set stays the operator's; none is generated beside it.
    svc = await startService({ ...config, OPERATOR_TOKEN: undefined }, pino({ level: "silent" }));
    expect(svc.operatorToken).to.equal(null);
    expect((await register(next, "shop-x")).status).to.equal(201);
  });
});
