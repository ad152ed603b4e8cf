import { expect } from "chai";
import { serveApp, type ServedApp } from "../helpers/app.js";
import { closeTestLedger, openTestLedger } from "../helpers/ledger.js";
import type { Ledger } from "../../service/store/ledger.js";

describe("cross-origin reads (CORS)", () => {
  let dir: string;
  let ledger: Ledger;
  let served: ServedApp;
  const ORIGIN = "https://monitor.example";

  before(async () => {
    ({ dir, ledger } = await openTestLedger());
    await ledger.submit({ actor: "acme", requests: [{ type: "issue", code: "CORS-0001", sku: "s" }] });
    served = await serveApp(ledger);
  });
  after(async () => {
    await served.close();
    await closeTestLedger(ledger, dir);
  });

  const allowed = async (path: string, init: RequestInit = {}): Promise<{ status: number; allow: string | null }> => {
    const res = await fetch(`${served.url}${path}`, { ...init, headers: { origin: ORIGIN, ...init.headers } });
    await res.arrayBuffer();
    return { status: res.status, allow: res.headers.get("access-control-allow-origin") };
  };

  it("lets any page read the public log: checkpoint, tiles, entries, proofs, keys, anchors, participants", async () => {
    const key = "ab".repeat(32);
    for (const path of [
      "/checkpoint",
      "/tile/0/000.p/2",
      "/tile/entries/000.p/2",
      "/v1/log",
      "/v1/entries?start=0&end=2",
      "/v1/proof/inclusion?index=0&size=2",
      "/v1/proof/consistency?from=1&to=2",
      `/v1/keys/${key}`,
      "/v1/anchors",
      "/v1/participants/acme",
    ]) {
      expect(await allowed(path), path).to.deep.equal({ status: 200, allow: "*" });
    }
    // Errors of a public read too, so that a page can tell what went wrong.
    expect(await allowed("/v1/proof/inclusion?index=5&size=2")).to.include({ allow: "*" });
  });

  it("not verification (its per-address rate limit), writes, metrics or the operator's endpoints", async () => {
    const json = { "content-type": "application/json" };
    const verify = await allowed("/v1/verify", { method: "POST", headers: json, body: JSON.stringify({ code: "CORS-0001" }) });
    expect(verify).to.deep.equal({ status: 200, allow: null });
    const preflight = await allowed("/v1/verify", {
      method: "OPTIONS",
      headers: { "access-control-request-method": "POST", "access-control-request-headers": "content-type" },
    });
    expect(preflight.allow).to.equal(null);
    expect((await allowed("/v1/events", { method: "POST", headers: json, body: "{}" })).allow).to.equal(null);
    expect((await allowed("/metrics")).allow).to.equal(null);
    // The operator's registration shares its path with the public GET.
    const register = await allowed("/v1/participants", { method: "POST", headers: json, body: "{}" });
    expect(register).to.deep.equal({ status: 401, allow: null });
    expect((await allowed("/v1/anchor", { method: "POST", headers: json, body: "{}" })).allow).to.equal(null);
  });
});
