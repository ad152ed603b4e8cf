import { expect } from "chai";
import pino from "pino";
import { Anchorer, REORG_DEPTH, type AnchorerOptions } from "../../service/chain/anchorer.js";
import type { AnchorClient, AnchoredEvent, SendOptions, Waiting } from "../../service/chain/contract.js";
import type { Fees } from "../../service/chain/fees.js";
import { toHex, toHex0x } from "../../service/core/index.js";
import type { Ledger } from "../../service/store/ledger.js";
import { closeTestLedger, openTestLedger } from "../helpers/ledger.js";

/** An anchorer of `ledger` on chain 31337 through `client`, stepped by hand (anchorNow). */
const anchorerOn = (ledger: Ledger, client: AnchorClient, options: Partial<AnchorerOptions> = {}): Anchorer =>
  new Anchorer({
    ledger,
    logId: `0x${"00".repeat(32)}`,
    chainId: 31337,
    confirmations: 1,
    intervalSeconds: 3600,
    log: pino({ level: "silent" }),
    connect: () => Promise.resolve(client),
    ...options,
  });

describe("anchorer and kept map views", () => {
  let dir: string;
  let ledger: Ledger;
  beforeEach(async () => ({ dir, ledger } = await openTestLedger()));
  afterEach(() => closeTestLedger(ledger, dir));

  const issue = (n: number): Promise<unknown> =>
    ledger.submit({ actor: "acme", requests: [{ type: "issue", code: `VIEW-${n}-KEY`, sku: "s" }] });

  it("steps that fail before sending let go of the view they kept, so the anchored size keeps its own", async () => {
    await issue(0);
    const anchored = ledger.size;
    expect(ledger.keepMapView(anchored)).to.equal(true); // as a successful anchor left it
    // The RPC is down: every step fails after it has kept the newest size's view.
    const down = { address: "0x0000000000000000000000000000000000000001", latest: () => Promise.reject(new Error("connect ECONNREFUSED")) };
    const anchorer = anchorerOn(ledger, down as unknown as AnchorClient);
    const failed: bigint[] = [];
    for (let i = 1; i <= 6; i++) {
      await issue(i);
      failed.push(ledger.size);
      let error: unknown;
      await anchorer.anchorNow().catch((e: unknown) => (error = e));
      expect((error as Error).message).to.match(/ECONNREFUSED/);
      expect(ledger.keepsMapView(ledger.size)).to.equal(false);
    }
    await issue(100);
    expect(ledger.keepsMapView(anchored)).to.equal(true);
    // The failed sizes have no view left (the newest one went when the next batch landed).
    for (const size of failed) expect(ledger.keepMapView(size)).to.equal(false);
    await anchorer.stop();
  });
});

describe("anchorer records follow the chain", () => {
  let dir: string;
  let ledger: Ledger;
  beforeEach(async () => ({ dir, ledger } = await openTestLedger()));
  afterEach(() => closeTestLedger(ledger, dir));

  const CONTRACT = "0x0000000000000000000000000000000000000002";
  const MINED = `0x${"ab".repeat(32)}`;
  /** A chain that holds `size` with `logRoot` and logged its Anchored event in MINED, block 7; sending fails the test. */
  const chainHolding = (size: bigint, logRoot: string, mapRoot: string) => {
    const event: AnchoredEvent = { size, logRoot, mapRoot, blockNumber: 7, txHash: MINED };
    return {
      address: CONTRACT,
      latest: () => Promise.resolve({ size, logRoot, mapRoot }),
      checkpointAt: (_: string, at: bigint) =>
        Promise.resolve(
          at === size ? { logRoot, mapRoot, timestamp: 1n } : { logRoot: toHex0x(new Uint8Array(32)), mapRoot, timestamp: 0n },
        ),
      anchoredAt: (_: string, at: bigint) => Promise.resolve(at === size ? event : undefined),
      head: () => Promise.resolve(10),
      minedIn: (hash: string) => Promise.resolve(hash === MINED ? 7 : null),
      waiting: () => Promise.resolve(null),
      sendAnchor: () => Promise.reject(new Error("nothing is to be sent")),
    } as unknown as AnchorClient;
  };
  const anchorer = (client: AnchorClient) => anchorerOn(ledger, client);
  const current = async () => {
    await ledger.submit({ actor: "acme", requests: [{ type: "issue", code: "CHAIN-0001-KEY", sku: "s" }] });
    const { size, logRoot, mapRoot } = ledger.checkpoint.checkpoint;
    return { size, logRoot: toHex(logRoot), mapRoot: toHex(mapRoot) };
  };

  it("records the chain's latest anchor that no record has (a send taken for dropped, mined later)", async () => {
    const cp = await current();
    expect(await anchorer(chainHolding(cp.size, `0x${cp.logRoot}`, `0x${cp.mapRoot}`)).anchorNow()).to.equal(null);
    expect(await ledger.anchors.list()).to.deep.equal([
      { ...cp, size: Number(cp.size), chainId: 31337, contract: CONTRACT, txHash: MINED, blockNumber: 7, status: "confirmed" },
    ]);
  });

  it("forgets confirmed records older than the chain's own (a reset chain anchored again since), not the ones it holds", async () => {
    const cp = await current();
    // Size 1 was anchored on a chain since lost; the chain now holds only the current size, in block 7.
    const lost = { ...cp, size: 1, logRoot: "11".repeat(32), chainId: 31337, contract: CONTRACT, txHash: `0x${"ee".repeat(32)}` };
    await ledger.anchors.put({ ...lost, blockNumber: 40, status: "confirmed" });
    const held = { ...cp, size: Number(cp.size), chainId: 31337, contract: CONTRACT, txHash: MINED, blockNumber: 7 };
    await ledger.anchors.put({ ...held, status: "confirmed" });
    expect(await anchorer(chainHolding(cp.size, `0x${cp.logRoot}`, `0x${cp.mapRoot}`)).anchorNow()).to.equal(null);
    expect(await ledger.anchors.list()).to.deep.equal([{ ...held, status: "confirmed" }]);
  });

  it("moves a confirmed anchor's record to the block a reorganisation mined its transaction in again; anchors deeper than REORG_DEPTH are final", async () => {
    const cp = await current();
    const OLD = `0x${"ef".repeat(32)}`;
    const old = { ...cp, size: 1, logRoot: "11".repeat(32), chainId: 31337, contract: CONTRACT, txHash: OLD, blockNumber: 2 };
    const held = { ...cp, size: Number(cp.size), chainId: 31337, contract: CONTRACT, txHash: MINED, blockNumber: 7 };
    await ledger.anchors.put({ ...old, status: "confirmed" });
    await ledger.anchors.put({ ...held, status: "confirmed" });
    const asked: string[] = [];
    const chain = chainHolding(cp.size, `0x${cp.logRoot}`, `0x${cp.mapRoot}`);
    const client = {
      ...chain,
      checkpointAt: (logId: string, at: bigint) =>
        at === 1n
          ? Promise.resolve({ logRoot: `0x${old.logRoot}`, mapRoot: `0x${cp.mapRoot}`, timestamp: 1n })
          : chain.checkpointAt(logId, at),
      // Block 6 is REORG_DEPTH below the head: the anchor in block 7 is read again, the one in block 2 is not.
      head: () => Promise.resolve(6 + REORG_DEPTH),
      minedIn: (hash: string) => {
        asked.push(hash);
        return Promise.resolve(hash === MINED ? 9 : 3);
      },
    } as unknown as AnchorClient;
    expect(await anchorer(client).anchorNow()).to.equal(null);
    expect(asked).to.deep.equal([MINED]);
    expect(await ledger.anchors.list()).to.deep.equal([
      { ...old, status: "confirmed" },
      { ...held, blockNumber: 9, status: "confirmed" },
    ]);
    // Bundles are made against the record: they name the block the transaction is in now.
    expect(ledger.anchors.newestConfirmed(CONTRACT, 0, Number(cp.size))?.blockNumber).to.equal(9);
  });

  it("confirms a pending record with the transaction that stored its size, not the last one it sent", async () => {
    const cp = await current();
    const rec = { ...cp, size: Number(cp.size), chainId: 31337, contract: CONTRACT, blockNumber: null, status: "pending" as const };
    await ledger.anchors.put({ ...rec, txHash: `0x${"cd".repeat(32)}` }); // a second send of the size, which reverted
    await anchorer(chainHolding(cp.size, `0x${cp.logRoot}`, `0x${cp.mapRoot}`)).anchorNow();
    expect(await ledger.anchors.list()).to.deep.equal([{ ...rec, txHash: MINED, blockNumber: 7, status: "confirmed" }]);
  });

  it("searches a size's Anchored event from the block of the newest confirmed anchor below it, on its own contract", async () => {
    await ledger.submit({ actor: "acme", requests: [1, 2, 3].map((n) => ({ type: "issue", code: `SEARCH-${n}-KEY`, sku: "s" })) });
    const cp = await current();
    expect(cp.size > 4n).to.equal(true);
    const OTHER = "0x0000000000000000000000000000000000000003";
    const root = (size: number) => `${size}`.padStart(64, "0");
    const below = (size: number, blockNumber: number, contract = CONTRACT) =>
      ({
        size,
        logRoot: root(size),
        mapRoot: cp.mapRoot,
        chainId: 31337,
        contract,
        txHash: MINED,
        blockNumber,
        status: "confirmed",
      }) as const;
    await ledger.anchors.put(below(1, 3));
    await ledger.anchors.put(below(2, 5));
    await ledger.anchors.put(below(4, 99, OTHER)); // newer, but another contract's
    const pending = {
      ...cp,
      size: Number(cp.size),
      chainId: 31337,
      contract: CONTRACT,
      txHash: MINED,
      blockNumber: null,
      status: "pending" as const,
    };
    await ledger.anchors.put(pending);
    const searchedFrom: number[] = [];
    const client = {
      address: CONTRACT,
      latest: () => Promise.resolve({ size: cp.size, logRoot: `0x${cp.logRoot}`, mapRoot: `0x${cp.mapRoot}` }),
      checkpointAt: (_: string, at: bigint) =>
        Promise.resolve({
          logRoot: at === cp.size ? `0x${cp.logRoot}` : `0x${root(Number(at))}`,
          mapRoot: `0x${cp.mapRoot}`,
          timestamp: 1n,
        }),
      anchoredAt: (_: string, size: bigint, fromBlock: number) => {
        searchedFrom.push(fromBlock);
        return Promise.resolve({ size, logRoot: `0x${cp.logRoot}`, mapRoot: `0x${cp.mapRoot}`, blockNumber: 8, txHash: MINED });
      },
      head: () => Promise.resolve(10),
      minedIn: () => Promise.resolve(null),
      waiting: () => Promise.resolve(null),
      sendAnchor: () => Promise.reject(new Error("nothing is to be sent")),
    } as unknown as AnchorClient;
    await anchorer(client).anchorNow();
    expect(searchedFrom).to.deep.equal([5]);
    expect((await ledger.anchors.list()).at(-1)).to.deep.equal({ ...pending, blockNumber: 8, status: "confirmed" });
  });

  const gwei = (n: number): bigint => BigInt(Math.round(n * 1e9));
  /** A chain that holds nothing yet, whose node has `fees` and holds `stuck` unmined; it records what is sent. */
  const emptyChain = (fees: Fees, stuck?: { hash: string; tx: Waiting }) => {
    const zero = toHex0x(new Uint8Array(32));
    const sent: SendOptions[] = [];
    const client = {
      address: CONTRACT,
      latest: () => Promise.resolve({ size: 0n, logRoot: zero, mapRoot: zero }),
      checkpointAt: () => Promise.resolve({ logRoot: zero, mapRoot: zero, timestamp: 0n }),
      head: () => Promise.resolve(10),
      minedIn: () => Promise.resolve(null),
      waiting: (hash: string) => Promise.resolve(hash === stuck?.hash ? stuck.tx : null),
      fees: () => Promise.resolve(fees),
      sendAnchor: (_l: string, _s: bigint, _r: string, _m: string, _p: string[], options: SendOptions) => {
        sent.push(options);
        return Promise.resolve({ hash: MINED, wait: () => Promise.resolve({ blockNumber: 9, gasUsed: 1n }) });
      },
    } as unknown as AnchorClient;
    return { client, sent };
  };

  it("sends a send still waiting in the mempool again in its place, raising its fees up to ANCHOR_MAX_FEE_GWEI, and no further", async () => {
    const cp = await current();
    const STUCK = `0x${"cd".repeat(32)}`;
    const rec = {
      ...cp,
      size: Number(cp.size),
      chainId: 31337,
      contract: CONTRACT,
      txHash: STUCK,
      blockNumber: null,
      status: "pending" as const,
    };
    await ledger.anchors.put(rec);
    const fees = { maxFeePerGas: gwei(10), maxPriorityFeePerGas: gwei(1) };
    const { client, sent } = emptyChain(fees, { hash: STUCK, tx: { nonce: 3, gasLimit: 90_000n, fees } });
    // A 10 % raise is all 11 gwei allows: too little for a node to replace it, so it waits as it is.
    expect(await anchorerOn(ledger, client, { maxFeePerGas: gwei(11) }).anchorNow()).to.equal(null);
    expect(sent).to.deep.equal([]);
    expect(await ledger.anchors.list()).to.deep.equal([rec]);
    const anchored = await anchorerOn(ledger, client, { maxFeePerGas: gwei(12) }).anchorNow();
    expect(sent).to.deep.equal([{ nonce: 3, gasLimit: 90_000n, fees: { maxFeePerGas: gwei(12), maxPriorityFeePerGas: gwei(1.3) + 1n } }]);
    expect(anchored).to.deep.equal({ ...rec, txHash: MINED, blockNumber: 9, status: "confirmed" });
  });

  it("offers the node's fees on a first send, held under ANCHOR_MAX_FEE_GWEI", async () => {
    await current();
    const { client, sent } = emptyChain({ maxFeePerGas: gwei(30), maxPriorityFeePerGas: gwei(2) });
    await anchorerOn(ledger, client, { maxFeePerGas: gwei(20) }).anchorNow();
    await anchorerOn(ledger, client).anchorNow(); // without a ceiling: the node's fees, as ethers sets them
    expect(sent).to.deep.equal([{ fees: { maxFeePerGas: gwei(20), maxPriorityFeePerGas: gwei(2) } }, {}]);
  });

  it("refuses to go on when the chain anchored more of this log than the directory holds (an older copy restored)", async () => {
    const cp = await current();
    const ahead = anchorer(chainHolding(cp.size + 5n, `0x${"dd".repeat(32)}`, `0x${cp.mapRoot}`));
    let error: unknown;
    await ahead.anchorNow().catch((e: unknown) => (error = e));
    expect((error as Error).message).to.equal(
      `the chain holds this log at size ${cp.size + 5n}, beyond the ${cp.size} entries here: this data directory is older than the log the chain anchored (restored from a copy?), and the events it records now fork from it`,
    );
    expect(await ledger.anchors.list()).to.deep.equal([]);
  });

  it("records no anchor of another history", async () => {
    const cp = await current();
    const forked = anchorer(chainHolding(cp.size - 1n, `0x${"ee".repeat(32)}`, `0x${cp.mapRoot}`));
    let error: unknown;
    await forked.anchorNow().catch((e: unknown) => (error = e));
    expect((error as Error).message).to.match(/different log root/);
    expect(await ledger.anchors.list()).to.deep.equal([]);
  });
});
