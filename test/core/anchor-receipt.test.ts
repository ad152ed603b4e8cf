import { expect } from "chai";
import { Interface } from "ethers";
import fc from "fast-check";
import { ANCHORED_TOPIC, judgeReceipt, type AnchorClaim } from "../../service/core/bundle/anchor-receipt.js";
import { anchorArtifact } from "../../service/chain/contract.js";

const h = (b: number): string => `0x${b.toString(16).padStart(2, "0").repeat(32)}`;
const CONTRACT = "0x5FbDB2315678afecb367f032d93F642f64180aa3";
const claim: AnchorClaim = {
  txHash: h(0x11),
  blockNumber: 42,
  contract: CONTRACT,
  logId: h(0x22),
  size: 1000n,
  logRoot: h(0x33),
  mapRoot: h(0x44),
};
const anchorLog = (over: Partial<{ address: string; topics: string[]; data: string }> = {}) => ({
  address: CONTRACT.toLowerCase(),
  topics: [ANCHORED_TOPIC, claim.logId, `0x${(1000).toString(16).padStart(64, "0")}`],
  data: `0x${"33".repeat(32)}${"44".repeat(32)}`,
  ...over,
});
const receipt = (over: Record<string, unknown> = {}) => ({
  transactionHash: claim.txHash,
  status: "0x1",
  blockNumber: "0x2a",
  blockHash: h(0x55),
  gasUsed: "0x1d0e0",
  logs: [anchorLog()],
  ...over,
});

describe("an anchor's transaction, judged from its receipt", () => {
  it("knows the contract's Anchored event by the topic its ABI gives", () => {
    const event = new Interface(anchorArtifact().abi as never).getEvent("Anchored");
    expect(event?.topicHash).to.equal(ANCHORED_TOPIC);
  });

  it("holds only when the receipt is the named transaction's, successful, in the named block, with the event for this log, size and roots", () => {
    expect(judgeReceipt(receipt(), claim)).to.equal("ok");
    // Other events beside it, and any letter case, change nothing.
    const other = anchorLog({ topics: [h(0x99)] });
    expect(judgeReceipt(receipt({ logs: [other, anchorLog({ address: CONTRACT })] }), claim)).to.equal("ok");
    expect(judgeReceipt(null, claim)).to.equal("missing");
    expect(judgeReceipt(receipt({ status: "0x0" }), claim)).to.equal("reverted");
    expect(judgeReceipt(receipt({ blockNumber: "0x2b" }), claim)).to.equal("otherBlock");
    expect(judgeReceipt(receipt({ logs: [] }), claim)).to.equal("noEvent");
    const wrong: [string, Partial<{ address: string; topics: string[]; data: string }>][] = [
      ["another contract", { address: "0x" + "ab".repeat(20) }],
      ["another event", { topics: [h(0x99), claim.logId, anchorLog().topics[2]!] }],
      ["another log", { topics: [ANCHORED_TOPIC, h(0x23), anchorLog().topics[2]!] }],
      ["another size", { topics: [ANCHORED_TOPIC, claim.logId, `0x${(999).toString(16).padStart(64, "0")}`] }],
      ["other roots", { data: `0x${"33".repeat(32)}${"45".repeat(32)}` }],
      ["the roots swapped", { data: `0x${"44".repeat(32)}${"33".repeat(32)}` }],
    ];
    for (const [what, over] of wrong) expect(judgeReceipt(receipt({ logs: [anchorLog(over)] }), claim), what).to.equal("noEvent");
  });

  it("takes an answer that is not the named transaction's receipt as the RPC's fault: it throws, saying what is wrong", () => {
    expect(() => judgeReceipt(receipt({ transactionHash: h(0x12) }), claim)).to.throw(/receipt of another transaction/);
    expect(() => judgeReceipt({ status: "0x1" }, claim)).to.throw(/receipt is malformed: transactionHash/);
    expect(() => judgeReceipt(receipt({ logs: [{ address: CONTRACT, topics: "x", data: "0x" }] }), claim)).to.throw(/logs\.0\.topics/);
    expect(() => judgeReceipt("0x1", claim)).to.throw(/malformed/);
  });

  it("never fails on any answer but with an Error, and never holds for an answer made up (property)", () => {
    fc.assert(
      fc.property(fc.oneof(fc.anything(), fc.jsonValue()), (raw) => {
        let verdict: string | undefined;
        try {
          verdict = judgeReceipt(raw, claim);
        } catch (e) {
          expect(e).to.be.instanceOf(Error);
        }
        expect(verdict).to.not.equal("ok");
      }),
      { numRuns: 2000 },
    );
  });
});
