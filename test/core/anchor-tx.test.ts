import { expect } from "chai";
import { Interface } from "ethers";
import fc from "fast-check";
import {
  ANCHORED_TOPIC,
  checkAnchorTx,
  judgeReceipt,
  txReaderOver,
  type AnchorClaim,
  type TxReader,
} from "../../service/core/bundle/anchor-tx.js";
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

  const verdict = (raw: unknown) => judgeReceipt(raw, claim).verdict;

  it("holds only when the receipt is the named transaction's, successful, with the event for this log, size and roots", () => {
    expect(judgeReceipt(receipt(), claim)).to.deep.equal({ verdict: "ok", minedIn: 42 });
    // Other events beside it, and any letter case, change nothing.
    const other = anchorLog({ topics: [h(0x99)] });
    expect(verdict(receipt({ logs: [other, anchorLog({ address: CONTRACT })] }))).to.equal("ok");
    expect(judgeReceipt(null, claim)).to.deep.equal({ verdict: "missing", minedIn: null });
    expect(verdict(receipt({ status: "0x0" }))).to.equal("reverted");
    expect(verdict(receipt({ logs: [] }))).to.equal("noEvent");
    const wrong: [string, Partial<{ address: string; topics: string[]; data: string }>][] = [
      ["another contract", { address: "0x" + "ab".repeat(20) }],
      ["another event", { topics: [h(0x99), claim.logId, anchorLog().topics[2]!] }],
      ["another log", { topics: [ANCHORED_TOPIC, h(0x23), anchorLog().topics[2]!] }],
      ["another size", { topics: [ANCHORED_TOPIC, claim.logId, `0x${(999).toString(16).padStart(64, "0")}`] }],
      ["other roots", { data: `0x${"33".repeat(32)}${"45".repeat(32)}` }],
      ["the roots swapped", { data: `0x${"44".repeat(32)}${"33".repeat(32)}` }],
    ];
    for (const [what, over] of wrong) expect(verdict(receipt({ logs: [anchorLog(over)] })), what).to.equal("noEvent");
  });

  it("the same transaction in another block (a reorganisation mined it again) holds, and says where it is", () => {
    expect(judgeReceipt(receipt({ blockNumber: "0x2d" }), claim)).to.deep.equal({ verdict: "moved", minedIn: 45 });
    // Moved or not, it must be what the bundle says it is.
    expect(verdict(receipt({ blockNumber: "0x2d", logs: [] }))).to.equal("noEvent");
    expect(verdict(receipt({ blockNumber: "0x2d", status: "0x0" }))).to.equal("reverted");
    expect(() => judgeReceipt(receipt({ blockNumber: `0x${(2n ** 53n).toString(16)}` }), claim)).to.throw(/blockNumber out of range/);
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
    expect(await checkAnchorTx(known.read, claim)).to.deep.equal({ verdict: "ok", minedIn: 42 });
    expect(known.asked).to.deep.equal([`eth_getTransactionReceipt("${claim.txHash}")`]); // the block only when the receipt is missing
    const absent = reader(null, inBlock([h(0x12), h(0x13)]));
    expect(await checkAnchorTx(absent.read, claim)).to.deep.equal({ verdict: "notInBlock", minedIn: null });
    expect(absent.asked[1]).to.equal('eth_getBlockByNumber("0x2a", false)');
    // An index that dropped the transaction, or a node without the block: neither shows the pointer false.
    const verdictOf = async (r: { read: TxReader }) => (await checkAnchorTx(r.read, claim)).verdict;
    expect(await verdictOf(reader(null, inBlock([h(0x13), claim.txHash.toUpperCase().replace("0X", "0x")])))).to.equal("unknown");
    expect(await verdictOf(reader(null, null))).to.equal("unknown");
    // A block not held because the chain has not reached it is no pruning.
    expect(await verdictOf(reader(null, null, "0x2a"))).to.equal("unknown");
    expect(await verdictOf(reader(null, null, "0x29"))).to.equal("futureBlock");
    await expectRejected(checkAnchorTx(reader(null, null, null).read, claim), /newest block number is malformed/);
    // The receipt, when there is one, decides.
    expect(await checkAnchorTx(reader(receipt({ status: "0x0" }), null).read, claim)).to.deep.equal({ verdict: "reverted", minedIn: 42 });
    // Answers that are not the block asked for are the RPC's fault.
    await expectRejected(checkAnchorTx(reader(null, { ...inBlock([]), number: "0x2b" }).read, claim), /another block/);
    await expectRejected(checkAnchorTx(reader(null, { number: "0x2a" }).read, claim), /block is malformed: transactions/);
  });

  it("never fails on any answer but with an Error, and never holds for an answer made up (property)", () => {
    fc.assert(
      fc.property(fc.oneof(fc.anything(), fc.jsonValue()), (raw) => {
        let judged: string | undefined;
        try {
          judged = verdict(raw);
        } catch (e) {
          expect(e).to.be.instanceOf(Error);
        }
        expect(judged).to.be.oneOf([undefined, "missing", "reverted", "noEvent"]);
      }),
      { numRuns: 2000 },
    );
  });
});
