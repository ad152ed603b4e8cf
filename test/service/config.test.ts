import { expect } from "chai";
import { loadConfig } from "../../service/config.js";

describe("service configuration", () => {
  it("takes the documented defaults from an empty environment", () => {
    const c = loadConfig({});
    expect(c.PORT).to.equal(8080);
    expect(c.ANCHORING).to.equal("on");
    expect(c.MAP_CACHE_NODES).to.equal(500_000);
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

  it("names every bad variable at once", () => {
    expect(() => loadConfig({ PORT: "70000", LOG_LEVEL: "loud" })).to.throw(/PORT: [^\n]+\n {2}LOG_LEVEL: /);
  });
});
