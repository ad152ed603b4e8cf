import { expect } from "chai";
import { writebackLine } from "../../bench/lib/machine.js";

describe("bench machine line", () => {
  it("names the kernel's writeback threshold in bytes when set, else as a share of memory", () => {
    expect(writebackLine(4 * 2 ** 20, 10)).to.equal("background writeback from 4 MiB dirty");
    expect(writebackLine(0, 10)).to.equal("background writeback from 10 % of memory dirty");
    expect(writebackLine(1536 * 1024, 10)).to.equal("background writeback from 1.5 MiB dirty");
  });
});
