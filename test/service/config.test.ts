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

  it("names every bad variable at once", () => {
    expect(() => loadConfig({ PORT: "70000", LOG_LEVEL: "loud" })).to.throw(/PORT: [^\n]+\n {2}LOG_LEVEL: /);
  });
});
