/**
 * scripts/anchor.ts for a platform that runs its own log (the service's own
 * anchoring off) and anchors with its operator key; then the regulator's
 * audit of that real log against the real chain.
 */
import { expect } from "chai";
import path from "node:path";
import { formatUnits, JsonRpcProvider, Wallet } from "ethers";
import pino from "pino";
import { startAnvil, type EmbeddedChain } from "../../service/chain/anvil.js";
import { AnchorClient } from "../../service/chain/contract.js";
import { configSchema, DEV_PRIVATE_KEY } from "../../service/config.js";
import { logIdOf } from "../../service/core/index.js";
import { startService, type RunningService } from "../../service/server.js";
import { cleanup, tempDir } from "../helpers/ledger.js";
import { inPool, rpc as rpcAt, startRefusingNode, waitFor } from "../helpers/anvil-rpc.js";
import { freePort } from "../helpers/ports.js";
import { runScript, startScript } from "../helpers/scripts.js";

const OPERATOR = "operator-token-for-anchor-tests-0123";
const ORIGIN = "anchor-script.keyproof.test/log";
/** Anvil's second development account: a key that is not the log's operator. */
const OTHER_KEY = "0x59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d";

describe("scripts/anchor.ts and an audit of a live log", function () {
  this.timeout(240_000);
  const dir = tempDir("keyproof-anchor-");
  let chain: EmbeddedChain;
  let provider: JsonRpcProvider;
  let client: AnchorClient;
  let svc: RunningService;
  let issuer: string;
  let n = 0;

  const post = async (p: string, body: unknown, token: string) => {
    const res = await fetch(`${svc.url}${p}`, {
      method: "POST",
      headers: { "content-type": "application/json", authorization: `Bearer ${token}` },
      body: JSON.stringify(body),
    });
    expect(res.status, await res.clone().text()).to.be.oneOf([200, 201]);
    return (await res.json()) as Record<string, string>;
  };
  const issue = (count: number) =>
    post(
      "/v1/events",
      { events: Array.from({ length: count }, () => ({ type: "issue", code: `ANCHOR-${String(n++).padStart(6, "0")}`, sku: "s" })) },
      issuer,
    );
  const onChainSize = async () => (await client.latest(logIdOf(ORIGIN))).size;
  const anchor = (args: string[] = [], key = DEV_PRIVATE_KEY) =>
    runScript("anchor", ["--log", svc.url, "--rpc-url", chain.rpcUrl, "--contract", client.address, ...args], {
      OPERATOR_PRIVATE_KEY: key,
    });

  before(async () => {
    chain = await startAnvil({ stateDir: path.join(dir, "chain"), port: await freePort() });
    provider = new JsonRpcProvider(chain.rpcUrl, undefined, { staticNetwork: true, cacheTimeout: -1 });
    const wallet = new Wallet(DEV_PRIVATE_KEY, provider);
    client = await AnchorClient.deploy(wallet);
    await client.registerLog(ORIGIN, wallet.address);
    const config = configSchema.parse({
      PORT: "0",
      DATA_DIR: path.join(dir, "data"),
      ORIGIN,
      OPERATOR_TOKEN: OPERATOR,
      ANCHORING: "off",
      LOG_LEVEL: "silent",
    });
    svc = await startService(config, pino({ level: "silent" }));
    issuer = (await post("/v1/participants", { id: "acme", role: "issuer", name: "Acme" }, OPERATOR)).token!;
  });
  after(async () => {
    await svc?.stop();
    provider?.destroy();
    await chain?.stop();
    cleanup(dir);
  });

  it("anchors the current checkpoint, printing the transaction hash and the gas used", async () => {
    await issue(5);
    const r = await anchor();
    expect(r.code, r.stderr).to.equal(0);
    expect(r.stdout).to.match(/anchored size 6 \(from 0\) in block \d+: tx 0x[0-9a-f]{64}, gas used \d+/);
    expect(await onChainSize()).to.equal(6n);
    const again = await anchor();
    expect(again.code).to.equal(0);
    expect(again.stdout).to.contain("already holds size 6");
  });

  it("anchors the next checkpoint with a consistency proof from the last anchored size", async () => {
    await issue(3);
    const r = await anchor();
    expect(r.code, r.stderr).to.equal(0);
    expect(r.stdout).to.match(/anchored size 9 \(from 6\)/);
    const [logRoot] = (await client.contract.getFunction("checkpointAt")(logIdOf(ORIGIN), 9n)) as [string];
    const note = await (await fetch(`${svc.url}/checkpoint`)).text();
    expect(Buffer.from(note.split("\n")[2]!, "base64").toString("hex")).to.equal(logRoot.slice(2));
  });

  it("keeps anchoring on an interval until interrupted", async () => {
    const run = startScript("anchor", ["--log", svc.url, "--rpc-url", chain.rpcUrl, "--contract", client.address, "--interval", "1"], {
      OPERATOR_PRIVATE_KEY: DEV_PRIVATE_KEY,
    });
    await issue(2);
    for (let i = 0; i < 200 && (await onChainSize()) < 11n; i++) await new Promise((r) => setTimeout(r, 100));
    await issue(2);
    for (let i = 0; i < 200 && (await onChainSize()) < 13n; i++) await new Promise((r) => setTimeout(r, 100));
    run.child.kill("SIGINT");
    const out = await run.done;
    expect(await onChainSize()).to.equal(13n);
    expect(out.stdout).to.match(/anchored size 13/);
    expect(out.code).to.equal(0);
  });

  describe("a send that waits unmined (automine off)", () => {
    const rpc = (method: string, params: unknown[] = []) => rpcAt(chain.rpcUrl, method, params);
    const args = (...more: string[]) => ["--log", svc.url, "--rpc-url", chain.rpcUrl, "--contract", client.address, ...more];
    const firstInPool = () => waitFor("the anchor transaction in the mempool", async () => (await inPool(chain.rpcUrl))[0]);
    const mineAndWait = async (run: ReturnType<typeof startScript>) => {
      await rpc("evm_mine");
      await rpc("evm_setAutomine", [true]);
      return run.done;
    };
    beforeEach(() => rpc("evm_setAutomine", [false]));
    afterEach(() => rpc("evm_setAutomine", [true]));

    it("is sent again past --tx-timeout in its place (same nonce, higher fees), and the one mined is printed", async () => {
      await issue(2);
      const size = await onChainSize();
      const run = startScript("anchor", args("--tx-timeout", "2"), { OPERATOR_PRIVATE_KEY: DEV_PRIVATE_KEY });
      const first = await firstInPool();
      const second = await waitFor("the replacement", async () => {
        const txs = await inPool(chain.rpcUrl);
        return txs.length === 1 && txs[0]!.hash !== first.hash ? txs[0] : undefined;
      });
      expect(BigInt(second.nonce)).to.equal(BigInt(first.nonce));
      expect(BigInt(second.maxFeePerGas) > BigInt(first.maxFeePerGas)).to.equal(true);
      const out = await mineAndWait(run);
      expect(out.code, out.stderr).to.equal(0);
      expect(out.stdout).to.contain(`again with higher fees: tx ${second.hash} (in place of ${first.hash}`);
      expect(out.stdout).to.match(new RegExp(`anchored size \\d+ \\(from ${size}\\) in block \\d+: tx ${second.hash}, gas used \\d+`));
      expect((await onChainSize()) > size).to.equal(true);
    });

    it("is sent anew when the node dropped it", async () => {
      await issue(1);
      const run = startScript("anchor", args("--tx-timeout", "2"), { OPERATOR_PRIVATE_KEY: DEV_PRIVATE_KEY });
      const first = await firstInPool();
      await rpc("anvil_dropAllTransactions");
      expect(await inPool(chain.rpcUrl)).to.deep.equal([]);
      // (The same nonce, fees and calldata: it may well be the same transaction, broadcast again.)
      const second = await waitFor("the new send", async () => (await inPool(chain.rpcUrl))[0]);
      const out = await mineAndWait(run);
      expect(out.code, out.stderr).to.equal(0);
      expect(out.stdout).to.contain(`anew: tx ${second.hash} (the node dropped ${first.hash})`);
      expect(out.stdout).to.contain(`: tx ${second.hash}, gas used`);
    });

    it("is left as it is when --max-fee-gwei leaves no raise a node would take, and still counts once mined", async () => {
      await issue(1);
      const size = await onChainSize();
      // The ceiling is what the node asks now: the first send offers it, and no raise fits under it.
      const { maxFeePerGas } = await provider.getFeeData();
      const run = startScript("anchor", args("--tx-timeout", "1", "--max-fee-gwei", formatUnits(maxFeePerGas!, "gwei")), {
        OPERATOR_PRIVATE_KEY: DEV_PRIVATE_KEY,
      });
      const first = await firstInPool();
      expect(BigInt(first.maxFeePerGas)).to.equal(maxFeePerGas);
      await waitFor("the warning", async () => (run.stderr().includes("leaves no higher fee") ? true : undefined));
      expect((await inPool(chain.rpcUrl)).map((t) => t.hash)).to.deep.equal([first.hash]);
      const out = await mineAndWait(run);
      expect(out.code, out.stderr).to.equal(0);
      expect(out.stdout).to.match(new RegExp(`anchored size \\d+ \\(from ${size}\\) in block \\d+: tx ${first.hash}`));
    });
  });

  it("refuses bad --tx-timeout and --max-fee-gwei values with a usage error", async () => {
    for (const bad of [
      ["--tx-timeout", "0"],
      ["--max-fee-gwei", "-1"],
      ["--max-fee-gwei", "lots"],
    ]) {
      const r = await anchor(bad);
      expect(r.code, bad.join(" ")).to.equal(2);
      expect(r.stderr).to.match(/--tx-timeout|--max-fee-gwei|maxFeeGwei|txTimeout/);
    }
  });

  it("refuses a key that is not the log's operator, and a missing key", async () => {
    await issue(1);
    const anchored = await onChainSize();
    const wrong = await anchor([], OTHER_KEY);
    expect(wrong.code).to.equal(1);
    expect(wrong.stderr).to.contain("is not the operator");
    const none = await anchor([], "");
    expect(none.code).to.equal(2);
    expect(none.stderr).to.contain("OPERATOR_PRIVATE_KEY");
    expect(await onChainSize()).to.equal(anchored);
  });

  it("names the contract's refusals, with their arguments (ethers left them 'unknown custom error')", async () => {
    await issue(1);
    await anchor();
    const latest = await client.latest(logIdOf(ORIGIN));
    const refused = await client.sendAnchor(logIdOf(ORIGIN), latest.size, latest.logRoot, latest.mapRoot, []).then(
      () => null,
      (e: unknown) => e as Error,
    );
    expect(refused?.message).to.equal(`the anchor contract refused: SizeNotIncreasing(${logIdOf(ORIGIN)}, ${latest.size}, ${latest.size})`);
    const again = await client.registerLog(ORIGIN, client.address).then(
      () => null,
      (e: unknown) => e as Error,
    );
    expect(again?.message).to.equal(`the anchor contract refused: LogAlreadyRegistered(${logIdOf(ORIGIN)})`);
    // A nonce another transaction of the key took: said so, without the signed transaction ethers prints.
    await issue(1);
    const next = await client.latest(logIdOf(ORIGIN));
    const taken = await client
      .sendAnchor(logIdOf(ORIGIN), next.size + 1n, next.logRoot, next.mapRoot, [], { nonce: 0, gasLimit: 500_000n })
      .then(
        () => null,
        (e: unknown) => e as Error,
      );
    expect(taken?.message).to.match(/^the operator key's nonce was taken by another transaction of the same key/);
  });

  it("names a node that refuses it by scheme, host and port only (the rest of an RPC URL may be its API key)", async () => {
    const secret = "k3y-0f-th3-h0st3d-n0d3-1a2b3c";
    const node = await startRefusingNode();
    try {
      const r = await runScript(
        "anchor",
        ["--log", svc.url, "--rpc-url", `http://${node.host}/v3/${secret}`, "--contract", client.address],
        {
          OPERATOR_PRIVATE_KEY: DEV_PRIVATE_KEY,
        },
      );
      expect(r.code).to.not.equal(0);
      expect(r.stderr).to.contain(`http://${node.host}/…`);
      expect(r.stdout + r.stderr).not.to.contain(secret);
    } finally {
      await node.close();
    }
  });

  it("the audit of the live log finds it clean, every anchor checked", async () => {
    await anchor();
    const info = (await (await fetch(`${svc.url}/v1/log`)).json()) as { verifierKey: string };
    const out = path.join(dir, "audit.json");
    const r = await runScript("audit", [
      "--log",
      svc.url,
      "--rpc-url",
      chain.rpcUrl,
      "--contract",
      client.address,
      "--verifier-key",
      info.verifierKey,
      "--out",
      out,
    ]);
    expect(r.code, r.stdout + r.stderr).to.equal(0);
    expect(r.stdout).to.contain("CLEAN");
    expect(r.stdout).to.match(new RegExp(`anchors checked: \\d+ \\(sizes 6, 9, .*${await onChainSize()}\\)`));
  });
});
