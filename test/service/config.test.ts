import { expect } from "chai";
import { loadConfig } from "../../service/config.js";

describe("service configuration", () => {
  it("takes the documented defaults from an empty environment", () => {
    const c = loadConfig({});
    expect(c.PORT).to.equal(8080);
    expect(c.ANCHORING).to.equal("on");
    expect(c.MAP_CACHE_NODES).to.equal(1_000_000);
  });

  it("reads the map cache size as a whole number of nodes", () => {
    expect(loadConfig({ MAP_CACHE_NODES: "2500000" }).MAP_CACHE_NODES).to.equal(2_500_000);
  });

  for (const bad of ["0", "999", "1.5", "lots", "-5", "1e12"]) {
    it(`refuses MAP_CACHE_NODES=${bad}, naming the variable`, () => {
      expect(() => loadConfig({ MAP_CACHE_NODES: bad })).to.throw(/invalid configuration:\n {2}MAP_CACHE_NODES: /);
    });
  }

  it("reads the anchor fee ceiling in gwei, none by default", () => {
    expect(loadConfig({}).ANCHOR_MAX_FEE_GWEI).to.equal(undefined);
    expect(loadConfig({ ANCHOR_MAX_FEE_GWEI: "2.5" }).ANCHOR_MAX_FEE_GWEI).to.equal(2.5);
  });

  for (const bad of ["0", "-1", "lots", "2e6"]) {
    it(`refuses ANCHOR_MAX_FEE_GWEI=${bad}, naming the variable`, () => {
      expect(() => loadConfig({ ANCHOR_MAX_FEE_GWEI: bad })).to.throw(/ANCHOR_MAX_FEE_GWEI: /);
    });
  }

  it("keeps Idempotency-Key answers 30 days unless told (0: forever)", () => {
    expect(loadConfig({}).IDEMPOTENCY_TTL_DAYS).to.equal(30);
    expect(loadConfig({ IDEMPOTENCY_TTL_DAYS: "0" }).IDEMPOTENCY_TTL_DAYS).to.equal(0);
    expect(() => loadConfig({ IDEMPOTENCY_TTL_DAYS: "-1" })).to.throw(/IDEMPOTENCY_TTL_DAYS: /);
  });

  it("reads TRUST_PROXY as a hop count or a list of proxy addresses, none by default", () => {
    expect(loadConfig({}).TRUST_PROXY).to.equal(undefined);
    expect(loadConfig({ TRUST_PROXY: "2" }).TRUST_PROXY).to.equal(2);
    expect(loadConfig({ TRUST_PROXY: "loopback, 10.0.0.0/8,::1/128" }).TRUST_PROXY).to.deep.equal(["loopback", "10.0.0.0/8", "::1/128"]);
  });

  it("refuses TRUST_PROXY=true: every client could name its own address and escape the verify rate limit", () => {
    for (const bad of ["true", "TRUE", "*"]) expect(() => loadConfig({ TRUST_PROXY: bad })).to.throw(/TRUST_PROXY: must name the proxies/);
  });

  for (const bad of ["0", "11", "10.0.0.0/33", "10.0.0.1/8/8", "proxy.example", "1.5", ""]) {
    it(`refuses TRUST_PROXY=${JSON.stringify(bad)}, naming the variable`, () => {
      expect(() => loadConfig({ TRUST_PROXY: bad })).to.throw(/invalid configuration:\n {2}TRUST_PROXY: must be a hop count/);
    });
  }

  it("names every bad variable at once", () => {
    expect(() => loadConfig({ PORT: "70000", LOG_LEVEL: "loud" })).to.throw(/PORT: [^\n]+\n {2}LOG_LEVEL: /);
  });
});
