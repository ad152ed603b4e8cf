import { expect } from "chai";
import { Interface } from "ethers";
import fc from "fast-check";
import { ANCHORED_TOPIC, checkAnchorTx, judgeReceipt, txReaderOver, type AnchorClaim } from "../../service/core/bundle/anchor-tx.js";
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

async function expectRejected(p: Promise<unknown>, message: RegExp): Promise<void> {
  const e = await p.then(
    () => undefined,
    (err: unknown) => err,
  );
  expect(e).to.be.instanceOf(Error);
  expect((e as Error).message).to.match(message);
}

describe("an anchor's transaction, checked on the chain", () => {
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

  it("a transaction the node does not know is false only where the node holds the named block without it", async () => {
    const reader = (receipt: unknown, block: unknown, head: unknown = "0x64") => {
      const asked: string[] = [];
      const read = txReaderOver(async (method, params) => {
        asked.push(`${method}(${params.map((p) => JSON.stringify(p)).join(", ")})`);
        return method === "eth_getTransactionReceipt" ? receipt : method === "eth_getBlockByNumber" ? block : head;
      });
      return { read, asked };
    };
    const inBlock = (txs: string[]) => ({ number: "0x2a", hash: h(0x66), transactions: txs });
    const known = reader(receipt(), null);
    expect(await checkAnchorTx(known.read, claim)).to.equal("ok");
    expect(known.asked).to.deep.equal([`eth_getTransactionReceipt("${claim.txHash}")`]); // the block only when the receipt is missing
    const absent = reader(null, inBlock([h(0x12), h(0x13)]));
    expect(await checkAnchorTx(absent.read, claim)).to.equal("notInBlock");
    expect(absent.asked[1]).to.equal('eth_getBlockByNumber("0x2a", false)');
    // An index that dropped the transaction, or a node without the block: neither shows the pointer false.
    expect(await checkAnchorTx(reader(null, inBlock([h(0x13), claim.txHash.toUpperCase().replace("0X", "0x")])).read, claim)).to.equal(
      "unknown",
    );
    expect(await checkAnchorTx(reader(null, null).read, claim)).to.equal("unknown");
    // A block not held because the chain has not reached it is no pruning.
    expect(await checkAnchorTx(reader(null, null, "0x2a").read, claim)).to.equal("unknown");
    expect(await checkAnchorTx(reader(null, null, "0x29").read, claim)).to.equal("futureBlock");
    await expectRejected(checkAnchorTx(reader(null, null, null).read, claim), /newest block number is malformed/);
    // The receipt, when there is one, decides.
    expect(await checkAnchorTx(reader(receipt({ status: "0x0" }), null).read, claim)).to.equal("reverted");
    // Answers that are not the block asked for are the RPC's fault.
    await expectRejected(checkAnchorTx(reader(null, { ...inBlock([]), number: "0x2b" }).read, claim), /another block/);
    await expectRejected(checkAnchorTx(reader(null, { number: "0x2a" }).read, claim), /block is malformed: transactions/);
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
