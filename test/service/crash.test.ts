/**
 * The whole service SIGKILLed at random moments under write load, restarted
 * on the same data directory each time (the chain is an outside anvil that
 * survives the kills). After every restart: each acknowledged event is there
 * with a valid inclusion proof, and the new checkpoint is consistent with
 * every checkpoint handed out before, and the hash tiles make its root. At
 * the end the regulator's audit replays the log against the chain: nothing
 * half there, roots and anchors all agree, anchoring resumed and never
 * anchored a size twice.
 */
import { expect } from "chai";
import { spawn, type ChildProcess } from "node:child_process";
import path from "node:path";
import { JsonRpcProvider } from "ethers";
import { startAnvil, type EmbeddedChain } from "../../service/chain/anvil.js";
import { AnchorClient } from "../../service/chain/contract.js";
import {
  fromHex,
  logIdOf,
  MemoryTree,
  openCheckpoint,
  toHex,
  verifyConsistency,
  verifyInclusion,
  type Checkpoint,
} from "../../service/core/index.js";
import { formatTileIndex } from "../../service/http/tiles.js";
import { KeyProofApi } from "../../service/client/api.js";
import { audit } from "../../service/tools/audit/auditor.js";
import { cleanup, tempDir } from "../helpers/ledger.js";
import { freePort } from "../helpers/ports.js";
import { ROOT } from "../helpers/scripts.js";

/** 20 in every `npm test`; more by hand with CRASH_KILLS (docs/figures.md, Crashes). */
const KILLS = Math.max(20, Number.parseInt(process.env.CRASH_KILLS ?? "", 10) || 20);
const OPERATOR = "operator-token-for-crash-tests-0123";
const ORIGIN = "crash.keyproof.example/log";

describe(`service crash safety (SIGKILL x ${KILLS} under write load)`, function () {
  this.timeout(30_000 * KILLS);
  const dir = tempDir("keyproof-svc-crash-");
  let port: number;
  let url: string;
  let chain: EmbeddedChain;
  let child: ChildProcess | null = null;

  const start = async (): Promise<void> => {
    child = spawn(process.execPath, ["--import", "tsx", "service/main.ts"], {
      cwd: ROOT,
      env: {
        ...process.env,
        PORT: String(port),
        DATA_DIR: path.join(dir, "data"),
        ORIGIN,
        OPERATOR_TOKEN: OPERATOR,
        RPC_URL: chain.rpcUrl,
        ANCHOR_INTERVAL: "1",
        LOG_LEVEL: "silent",
      },
      stdio: "ignore",
    });
    for (let i = 0; i < 300; i++) {
      try {
        if ((await fetch(`${url}/healthz`)).status === 200) return;
      } catch {
        /* not up yet */
      }
      await new Promise((r) => setTimeout(r, 50));
    }
    throw new Error("the service did not come up");
  };
  const kill = async (): Promise<void> => {
    const c = child!;
    child = null;
    if (c.exitCode !== null) return;
    await new Promise<void>((resolve) => {
      c.once("exit", () => resolve());
      c.kill("SIGKILL");
    });
  };
  const post = (p: string, body: unknown, token: string) =>
    fetch(`${url}${p}`, {
      method: "POST",
      headers: { "content-type": "application/json", authorization: `Bearer ${token}` },
      body: JSON.stringify(body),
    });

  before(async () => {
    port = await freePort();
    url = `http://127.0.0.1:${port}`;
    chain = await startAnvil({ stateDir: path.join(dir, "chain"), port: await freePort() });
  });
  after(async () => {
    if (child) await kill();
    await chain?.stop();
    cleanup(dir);
  });

  it("keeps every acknowledged event and stays consistent with every checkpoint it handed out", async () => {
    await start();
    const reg = await post("/v1/participants", { id: "acme", role: "issuer", name: "Acme" }, OPERATOR);
    const token = ((await reg.json()) as { token: string }).token;
    const api = new KeyProofApi(url, { attempts: 1 });
    const verifierKey = (await api.logInfo()).verifierKey;
    const acked = new Map<number, string>(); // index -> leaf hash
    const handedOut = new Map<bigint, Checkpoint>();
    const checked = new Set<number>();
    let codeNo = 0;

    const check = async (): Promise<void> => {
      const cp = openCheckpoint(await api.checkpoint(), verifierKey);
      for (const old of handedOut.values()) {
        expect(cp.size >= old.size, `checkpoint shrank from ${old.size} to ${cp.size}`).to.equal(true);
        if (old.size === 0n || old.size === cp.size) continue;
        const proof = (await api.consistency(Number(old.size), Number(cp.size))).map((h) => fromHex(h, 32));
        verifyConsistency(old.size, cp.size, old.logRoot, cp.logRoot, proof);
      }
      // Everything acknowledged since the last check, and a sample of the older events.
      const older = [...checked].sort(() => Math.random() - 0.5).slice(0, 100);
      const due = [...acked].filter(([i]) => !checked.has(i) || older.includes(i));
      for (const [index, leaf] of due) {
        expect(BigInt(index) < cp.size, `acknowledged entry ${index} lost (size ${cp.size})`).to.equal(true);
        const res = (await (await fetch(`${url}/v1/proof/inclusion?index=${index}&size=${cp.size}`)).json()) as {
          leafHash: string;
          proof: string[];
        };
        expect(res.leafHash).to.equal(leaf);
        verifyInclusion(
          BigInt(index),
          cp.size,
          fromHex(leaf, 32),
          res.proof.map((h) => fromHex(h, 32)),
          cp.logRoot,
        );
      }
      for (const [i] of due) checked.add(i);
      // The leaves as the hash tiles serve them (each full one stored whole by the group that completed it, across the kills) make the root.
      const tree = new MemoryTree();
      for (let start = 0n; start < cp.size; start += 256n) {
        const width = cp.size - start < 256n ? cp.size - start : 256n;
        const tile = `/tile/0/${formatTileIndex(start / 256n)}${width < 256n ? `.p/${width}` : ""}`;
        const bytes = new Uint8Array(await (await fetch(`${url}${tile}`)).arrayBuffer());
        expect(bytes.length, tile).to.equal(Number(width) * 32);
        for (let i = 0; i < bytes.length; i += 32) tree.appendLeaf(bytes.slice(i, i + 32));
      }
      expect(toHex(tree.root()), `the tiles' root at size ${cp.size}`).to.equal(toHex(cp.logRoot));
      handedOut.set(cp.size, cp);
    };

    const writer = async (stop: { now: boolean }): Promise<void> => {
      while (!stop.now) {
        const n = 1 + Math.floor(Math.random() * 40);
        const events = Array.from({ length: n }, () => ({ type: "issue", code: `CRASH-${codeNo++}-KEY`, sku: "s" }));
        let res: Response;
        try {
          res = await post("/v1/events", { events }, token);
        } catch {
          return; // killed: this request is unacknowledged
        }
        if (res.status !== 200) throw new Error(`unexpected ${res.status}: ${await res.text()}`);
        const body = (await res.json()) as { results: { ok: boolean; index: number; leafHash: string }[]; checkpoint: string };
        for (const r of body.results) if (r.ok) acked.set(r.index, r.leafHash);
        const cp = openCheckpoint(body.checkpoint, verifierKey);
        handedOut.set(cp.size, cp);
      }
    };

    for (let k = 0; k < KILLS; k++) {
      const stop = { now: false };
      const writers = [writer(stop), writer(stop), writer(stop)];
      await new Promise((r) => setTimeout(r, 150 + Math.random() * 600));
      await kill();
      stop.now = true;
      await Promise.all(writers);
      await start();
      await check();
    }
    expect(acked.size).to.be.greaterThan(KILLS * 10);

    // Anchoring resumed: the chain catches up with the final checkpoint.
    const size = openCheckpoint(await api.checkpoint(), verifierKey).size;
    const provider = new JsonRpcProvider(chain.rpcUrl, undefined, { staticNetwork: true, cacheTimeout: -1 });
    try {
      const contract = ((await api.logInfo()).contract ?? "") as string;
      const client = new AnchorClient(contract, provider);
      for (let i = 0; i < 300 && (await client.latest(logIdOf(ORIGIN))).size < size; i++) await new Promise((r) => setTimeout(r, 100));
      expect((await client.latest(logIdOf(ORIGIN))).size).to.equal(size);
      const report = await audit({ api, anchors: client.streamAnchoredEvents(logIdOf(ORIGIN)), verifierKey, workDir: dir });
      expect(report.findings, JSON.stringify(report.findings.slice(0, 5))).to.deep.equal([]);
      expect(report.anchors.length).to.be.greaterThan(1);
      expect(report.entriesAudited).to.equal(Number(size));
    } finally {
      provider.destroy();
    }
  });
});
