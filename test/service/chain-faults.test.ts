/**
 * Chain faults against a real anvil the test controls: the RPC goes away, the
 * chain comes back, the chain is reset (the contract is gone). The service
 * keeps accepting events throughout, catches up, and never anchors a size twice.
 * Also: a graceful stop under write load keeps every acknowledged event.
 */
import { expect } from "chai";
import { rmSync } from "node:fs";
import path from "node:path";
import { Contract, JsonRpcProvider, Wallet } from "ethers";
import pino from "pino";
import { startAnvil, type EmbeddedChain } from "../../service/chain/anvil.js";
import { AnchorClient, anchorArtifact } from "../../service/chain/contract.js";
import { DEV_PRIVATE_KEY, configSchema } from "../../service/config.js";
import { logIdOf, toHex, verifyBundle, type EvidenceBundle } from "../../service/core/index.js";
import { txReaderOver } from "../../service/core/bundle/anchor-tx.js";
import { startService, type RunningService } from "../../service/server.js";
import { cleanup, tempDir } from "../helpers/ledger.js";
import { inPool, rpc as rpcAt, waitFor } from "../helpers/anvil-rpc.js";
import { freePort } from "../helpers/ports.js";

const OPERATOR = "operator-token-for-chain-faults-0123";
const ORIGIN = "faults.keyproof.example/log";

/** Every Anchored event of the log on a contract: the sizes, in chain order. */
async function anchoredSizes(rpcUrl: string, contract: string): Promise<number[]> {
  const provider = new JsonRpcProvider(rpcUrl, undefined, { staticNetwork: true });
  try {
    const c = new Contract(contract, anchorArtifact().abi as never, provider);
    const logs = await c.queryFilter(c.filters.Anchored!(logIdOf(ORIGIN)), 0);
    return logs.map((l) => Number((l as unknown as { args: { size: bigint } }).args.size));
  } finally {
    provider.destroy();
  }
}

describe("chain faults and shutdown", function () {
  this.timeout(180_000);
  const dir = tempDir("keyproof-faults-");
  let chainPort: number;
  let chain: EmbeddedChain;
  let svc: RunningService;
  let issued = 0;

  const post = async (p: string, body: unknown, token = OPERATOR) => {
    const res = await fetch(`${svc.url}${p}`, {
      method: "POST",
      headers: { "content-type": "application/json", authorization: `Bearer ${token}` },
      body: JSON.stringify(body),
    });
    return { status: res.status, json: (await res.json()) as any }; // eslint-disable-line @typescript-eslint/no-explicit-any
  };
  const issue = async (token: string, n: number) => {
    const r = await post(
      "/v1/events",
      { events: Array.from({ length: n }, () => ({ type: "issue", code: `FAULT-${issued++}-KEY`, sku: "s" })) },
      token,
    );
    expect(r.status).to.equal(200);
    return r.json as { results: { ok: boolean; index: number; leafHash: string }[] };
  };
  const anchors = async () =>
    (
      (await (await fetch(`${svc.url}/v1/anchors`)).json()) as {
        anchors: { size: number; status: string; txHash: string | null; blockNumber: number | null }[];
      }
    ).anchors;
  const confirmedAt = (size: bigint) =>
    waitFor(`an anchor confirmed at ${size}`, async () =>
      (await anchors()).some((a) => a.status === "confirmed" && a.size === Number(size)) ? true : undefined,
    );

  /** The service on the test's chain, anchoring every second; the same data directory each time. */
  const start = () =>
    startService(
      configSchema.parse({
        PORT: "0",
        DATA_DIR: path.join(dir, "data"),
        ORIGIN,
        OPERATOR_TOKEN: OPERATOR,
        RPC_URL: chain.rpcUrl,
        ANCHOR_INTERVAL: "1",
        ANCHOR_TX_TIMEOUT: "3",
        LOG_LEVEL: "silent",
      }),
      pino({ level: process.env.TEST_LOG ?? "silent" }), // TEST_LOG=warn shows what the service says
    );

  let token = "";
  before(async () => {
    chainPort = await freePort();
    chain = await startAnvil({ stateDir: path.join(dir, "chain-a"), port: chainPort });
    svc = await start();
    token = (await post("/v1/participants", { id: "acme", role: "issuer", name: "Acme" })).json.token as string;
  });
  after(async () => {
    await svc?.stop();
    await chain?.stop();
    cleanup(dir);
  });

  it("anchors, keeps accepting events while the RPC is down, and catches up when it returns", async () => {
    await issue(token, 10);
    await confirmedAt(svc.ledger.size);
    const contract = svc.contract()!;

    await chain.stop(); // graceful: anvil keeps its state
    await issue(token, 10);
    await new Promise((r) => setTimeout(r, 2500));
    await issue(token, 5);
    expect((await fetch(`${svc.url}/healthz`)).status).to.equal(200);
    expect((await anchors()).some((a) => a.status === "confirmed" && a.size === Number(svc.ledger.size))).to.equal(false);

    chain = await startAnvil({ stateDir: path.join(dir, "chain-a"), port: chainPort });
    await confirmedAt(svc.ledger.size);
    expect(svc.contract()).to.equal(contract);
    const sizes = await anchoredSizes(chain.rpcUrl, contract);
    expect(new Set(sizes).size).to.equal(sizes.length);
    expect(sizes).to.deep.equal([...sizes].sort((a, b) => a - b));
    expect(sizes.at(-1)).to.equal(Number(svc.ledger.size));
  });

  /** A JSON-RPC call to the test chain (anvil's own methods included). */
  const rpc = (method: string, params: unknown[] = []) => rpcAt(chain.rpcUrl, method, params);
  /** Sends a contract call as the service's own address (anvil impersonation: no key needed). */
  const asAdmin = async (fn: string, args: unknown[] = []) => {
    const admin = ((await rpc("eth_accounts")) as string[])[0]!;
    const c = new Contract(svc.contract()!, anchorArtifact().abi as never);
    const data = c.interface.encodeFunctionData(fn, args);
    await rpc("anvil_impersonateAccount", [admin]);
    const hash = (await rpc("eth_sendTransaction", [{ from: admin, to: svc.contract(), data }])) as string;
    for (let i = 0; i < 50 && !(await rpc("eth_getTransactionReceipt", [hash])); i++) await new Promise((r) => setTimeout(r, 100));
  };

  /** Runs `fn` with anvil mining only when told to (sends wait in the mempool), then automatically again. */
  const withoutAutomine = async (fn: () => Promise<void>) => {
    await rpc("evm_setAutomine", [false]);
    try {
      await fn();
    } finally {
      await rpc("evm_setAutomine", [true]);
    }
  };
  /** Waits until the service's anchor transaction waits in the mempool (automine off). */
  const anchorInMempool = () =>
    waitFor("the anchor transaction in the mempool", async () => ((await inPool(chain.rpcUrl)).length > 0 ? true : undefined));

  it("an anchor that reverts (log paused on chain) is retried once it can succeed, never twice for a size", async () => {
    await asAdmin("pauseLog", [logIdOf(ORIGIN)]);
    await issue(token, 4);
    await new Promise((r) => setTimeout(r, 3000));
    expect((await anchors()).some((a) => a.status === "confirmed" && a.size === Number(svc.ledger.size))).to.equal(false);
    await issue(token, 2); // still accepting events
    await asAdmin("unpauseLog", [logIdOf(ORIGIN)]);
    await confirmedAt(svc.ledger.size);
    const sizes = await anchoredSizes(chain.rpcUrl, svc.contract()!);
    expect(new Set(sizes).size).to.equal(sizes.length);
    expect(sizes.at(-1)).to.equal(Number(svc.ledger.size));
  });

  it("a dropped anchor transaction is noticed after ANCHOR_TX_TIMEOUT and sent again", async () => {
    await withoutAutomine(async () => {
      await issue(token, 3);
      const size = svc.ledger.size;
      await anchorInMempool();
      await rpc("anvil_dropAllTransactions");
      await rpc("evm_setAutomine", [true]);
      await confirmedAt(size);
      const sizes = await anchoredSizes(chain.rpcUrl, svc.contract()!);
      expect(new Set(sizes).size).to.equal(sizes.length);
      expect(sizes.at(-1)).to.equal(Number(size));
    });
  });

  it("an anchor transaction stuck in the mempool is replaced (same nonce, higher fees), and the record names the one mined", async () => {
    await withoutAutomine(async () => {
      await issue(token, 3);
      const size = svc.ledger.size;
      await anchorInMempool();
      const [first] = await inPool(chain.rpcUrl);
      // Past ANCHOR_TX_TIMEOUT (3 s) the next step sends the size again in
      // its place: a new nonce would wait behind it, and revert once both are mined.
      const second = await waitFor("the replacement", async () => {
        const txs = await inPool(chain.rpcUrl);
        return txs.length === 1 && txs[0]!.hash !== first!.hash ? txs[0] : undefined;
      });
      expect(BigInt(second.nonce)).to.equal(BigInt(first!.nonce));
      expect(BigInt(second.maxFeePerGas) > BigInt(first!.maxFeePerGas)).to.equal(true);
      await rpc("evm_mine");
      await rpc("evm_setAutomine", [true]);
      await confirmedAt(size);
      const rec = (await anchors()).find((a) => a.size === Number(size))!;
      expect(rec.txHash).to.equal(second.hash);
      const provider = new JsonRpcProvider(chain.rpcUrl, undefined, { staticNetwork: true });
      try {
        const c = new Contract(svc.contract()!, anchorArtifact().abi as never, provider);
        const [event] = await c.queryFilter(c.filters.Anchored!(logIdOf(ORIGIN), size), 0);
        expect(rec.txHash).to.equal(event!.transactionHash);
        expect(rec.blockNumber).to.equal(event!.blockNumber);
      } finally {
        provider.destroy();
      }
      const sizes = await anchoredSizes(chain.rpcUrl, svc.contract()!);
      expect(new Set(sizes).size).to.equal(sizes.length);
    });
  });

  /**
   * A chain snapshot taken once nothing is left to anchor, then one key
   * issued and anchored after it: reverting the snapshot drops that anchor's
   * block. With the key's bundle as served before the revert.
   */
  const anchorAfterSnapshot = async () => {
    await confirmedAt(svc.ledger.size);
    const snapshot = await rpc("evm_snapshot");
    const code = `FAULT-${issued}-KEY`;
    await issue(token, 1);
    const size = Number(svc.ledger.size);
    await confirmedAt(BigInt(size));
    const before = (await post("/v1/verify", { code })).json as EvidenceBundle;
    return { snapshot, code, size, before };
  };
  /** `bundle` verified for `code` as the page and `verify-bundle --rpc-url` do: the anchor and its transaction read from the test chain. */
  const verifiedOnChain = async (bundle: EvidenceBundle, code: string) => {
    const provider = new JsonRpcProvider(chain.rpcUrl, undefined, { staticNetwork: true });
    try {
      const client = new AnchorClient(svc.contract()!, provider);
      return await verifyBundle(bundle, {
        code,
        readAnchor: (logId, at) => client.checkpointAt(logId, at),
        readTx: txReaderOver((method, params) => provider.send(method, params)),
      });
    } finally {
      provider.destroy();
    }
  };

  it("a reorganisation that mines an anchor's transaction again in a later block: the record and new bundles follow it, and a bundle made before still verifies", async () => {
    const { snapshot, code, size, before } = await anchorAfterSnapshot();
    const { txHash, blockNumber } = before.anchor!;
    expect(before.anchor!.size).to.equal(size);
    // The chain drops the anchor's block and mines the same signed transaction two blocks later.
    const raw = await rpc("eth_getRawTransactionByHash", [txHash]);
    await svc.stop();
    await rpc("evm_revert", [snapshot]);
    await rpc("anvil_mine", ["0x2"]);
    expect(await rpc("eth_sendRawTransaction", [raw])).to.equal(txHash);
    svc = await start();
    await waitFor("the anchor's record to follow its transaction", async () =>
      (await anchors()).some((a) => a.size === size && a.blockNumber === blockNumber + 2) ? true : undefined,
    );
    const after = (await post("/v1/verify", { code })).json as EvidenceBundle;
    expect(after.anchor).to.deep.equal({ size, txHash, blockNumber: blockNumber + 2 });

    const anchorCheck = async (bundle: EvidenceBundle) => (await verifiedOnChain(bundle, code)).checks.find((c) => c.id === "anchor")!;
    expect(await anchorCheck(after)).to.deep.include({
      ok: true,
      said: {
        key: "anchor.okTx",
        values: { size: String(size), tx: txHash, block: String(blockNumber + 2), minedIn: String(blockNumber + 2) },
      },
    });
    // Made before the reorganisation, it names the old block: the transaction still stored these roots.
    const old = await anchorCheck(before);
    expect(old.ok).to.equal(true);
    expect(old.said).to.deep.equal({
      key: "anchor.okTxMoved",
      values: { size: String(size), tx: txHash, block: String(blockNumber), minedIn: String(blockNumber + 2) },
    });
    const sizes = await anchoredSizes(chain.rpcUrl, svc.contract()!);
    expect(new Set(sizes).size).to.equal(sizes.length);
  });

  it("an anchor a reorganisation dropped is forgotten and anchored anew, and new bundles name the new transaction", async () => {
    const { snapshot, code, size, before } = await anchorAfterSnapshot();
    // The anchor's block is replaced by empty ones, and its transaction is not mined again.
    await rpc("evm_revert", [snapshot]);
    await rpc("anvil_mine", ["0x2"]);
    const again = await waitFor("the size anchored anew", async () => {
      const a = (await anchors()).find((x) => x.size === size && x.status === "confirmed");
      return a && a.txHash !== before.anchor!.txHash ? a : undefined;
    });
    const after = (await post("/v1/verify", { code })).json as EvidenceBundle;
    expect(after.anchor!.txHash).to.equal(again.txHash);
    const report = await verifiedOnChain(after, code);
    expect(report.ok, JSON.stringify(report.checks)).to.equal(true);
    expect(report.checks.find((c) => c.id === "anchor")!.said?.key).to.equal("anchor.okTx");
    const sizes = await anchoredSizes(chain.rpcUrl, svc.contract()!);
    expect(new Set(sizes).size).to.equal(sizes.length);
  });

  it("re-deploys and re-anchors the current checkpoint when the chain was reset", async () => {
    const anchoredBefore = (await anchors()).map((a) => a.size);
    await chain.stop();
    chain = await startAnvil({ stateDir: path.join(dir, "chain-b"), port: chainPort }); // a fresh, empty chain
    await issue(token, 3);
    const size = svc.ledger.size;
    await confirmedAt(size);
    // The anchors of the lost chain are forgotten: only the re-anchored checkpoint remains.
    expect(anchoredBefore.length).to.be.greaterThan(0);
    expect((await anchors()).map((a) => a.size)).to.deep.equal([Number(size)]);
    const provider = new JsonRpcProvider(chain.rpcUrl, undefined, { staticNetwork: true });
    try {
      const c = new Contract(svc.contract()!, anchorArtifact().abi as never, provider);
      const [latestSize, logRoot] = (await c.getFunction("latest")(logIdOf(ORIGIN))) as [bigint, string];
      expect(latestSize).to.equal(size);
      expect(logRoot).to.equal(`0x${toHex(await svc.ledger.log.root(size))}`);
    } finally {
      provider.destroy();
    }
    expect(await anchoredSizes(chain.rpcUrl, svc.contract()!)).to.deep.equal([Number(size)]);
  });

  /** After a reset: a new event is anchored, and every anchor the service lists (bundles cite them) is one the chain holds. */
  const anchorsOnlyTheChainHolds = async () => {
    await issue(token, 1);
    const size = svc.ledger.size;
    await confirmedAt(size);
    const listed = (await anchors()).filter((a) => a.status === "confirmed").map((a) => a.size);
    expect(listed).to.include(Number(size));
    expect(listed).to.deep.equal(await anchoredSizes(chain.rpcUrl, svc.contract()!));
  };

  it("forgets the anchors of a reset chain whose deployment record was lost with it, and anchors anew", async () => {
    await issue(token, 2);
    await confirmedAt(svc.ledger.size);
    await svc.stop();
    await chain.stop();
    chain = await startAnvil({ stateDir: path.join(dir, "chain-c"), port: chainPort });
    // The chain's directory removed: no record says which contract was there.
    rmSync(path.join(dir, "data", "chain"), { recursive: true, force: true });
    svc = await start();
    await anchorsOnlyTheChainHolds();
  });

  it("forgets the anchors of a reset chain on which the same contract address was deployed again", async () => {
    await issue(token, 2);
    await confirmedAt(svc.ledger.size);
    const address = svc.contract()!;
    await svc.stop();
    await chain.stop();
    chain = await startAnvil({ stateDir: path.join(dir, "chain-d"), port: chainPort });
    // The same key at the same nonce: the same address, with none of the anchors.
    const provider = new JsonRpcProvider(chain.rpcUrl, undefined, { staticNetwork: true, cacheTimeout: -1 });
    try {
      const wallet = new Wallet(DEV_PRIVATE_KEY, provider);
      const again = await AnchorClient.deploy(wallet);
      expect(again.address).to.equal(address);
      await again.registerLog(ORIGIN, wallet.address);
    } finally {
      provider.destroy();
    }
    svc = await start();
    await anchorsOnlyTheChainHolds();
  });

  it("a graceful stop under write load keeps every acknowledged event", async () => {
    const acked: { index: number; leafHash: string }[] = [];
    const writers = Array.from({ length: 8 }, async () => {
      for (let i = 0; i < 50; i++) {
        try {
          const r = await issue(token, 20);
          for (const x of r.results) if (x.ok) acked.push(x);
        } catch {
          return; // the server went away: stop writing
        }
      }
    });
    await new Promise((r) => setTimeout(r, 300));
    await svc.stop();
    await Promise.all(writers);
    expect(acked.length).to.be.greaterThan(0);

    svc = await start();
    for (const a of acked) expect(toHex(await svc.ledger.log.leafHash(BigInt(a.index)))).to.equal(a.leafHash);
    await confirmedAt(svc.ledger.size);
  });
});
