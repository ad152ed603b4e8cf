import { expect } from "chai";
import { median, slope } from "../../bench/lib/trend.js";

describe("bench: a figure's trend over a long run (bench/lib/trend.ts)", () => {
  it("gives the least-squares slope: exact on a line, the line's through noise that averages out", () => {
    expect(slope([0, 1, 2, 3].map((x) => ({ x, y: 5 + 2 * x })))).to.equal(2);
    // Noise of +1, -1, -1, +1 around y = 10 - 0.5x leaves the slope where it is.
    expect(slope([0, 1, 2, 3].map((x, i) => ({ x, y: 10 - 0.5 * x + [1, -1, -1, 1][i]! })))).to.equal(-0.5);
    expect(slope([{ x: 1, y: 3 }])).to.equal(0);
    expect(slope([1, 1, 1].map((x, y) => ({ x, y })))).to.equal(0);
  });

  it("gives the median of odd and even counts, unsorted, and NaN of none", () => {
    expect(median([3, 1, 2])).to.equal(2);
    expect(median([4, 1, 3, 2])).to.equal(2.5);
    expect(Number.isNaN(median([]))).to.equal(true);
  });
});
