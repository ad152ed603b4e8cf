/**
 * The service over real HTTP, against a real chain (an anvil process started
 * by the service itself): the buyer's flow, every error code, auth
 * boundaries, idempotency, restart, and no plaintext code on disk or in logs.
 */
import { expect } from "chai";
import { readdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import path from "node:path";
import { Contract, JsonRpcProvider } from "ethers";
import pino from "pino";
import { fromHex, leafHash, MemoryTree, openCheckpoint, utf8, verifyBundle, verifyInclusion } from "../../service/core/index.js";
import { anchorArtifact } from "../../service/chain/contract.js";
import { txReaderOver } from "../../service/core/bundle/anchor-tx.js";
import { configSchema, type Config } from "../../service/config.js";
import { startService, type RunningService } from "../../service/server.js";
import { cleanup, tempDir } from "../helpers/ledger.js";
import { freePort } from "../helpers/ports.js";
import { runScript } from "../helpers/scripts.js";

const OPERATOR = "operator-token-for-tests-0123456789";
const CODES = ["GAME-7777-ALPHA", "GIFT-8888-BRAVO", "CARD-9999-CHARLIE", "VOID-1111-DELTA"];

function filesUnder(dir: string): string[] {
  return readdirSync(dir).flatMap((f) => {
    const p = path.join(dir, f);
    return statSync(p).isDirectory() ? filesUnder(p) : [p];
  });
}

describe("KeyProof service over HTTP with an embedded chain", function () {
  this.timeout(120_000);
  const dir = tempDir("keyproof-svc-");
  const logFile = path.join(dir, "service.log");
  let config: Config;
  let svc: RunningService;
  const tokens: Record<string, string> = {};

  const call = async (method: string, p: string, body?: unknown, token?: string, headers: Record<string, string> = {}) => {
    const res = await fetch(`${svc.url}${p}`, {
      method,
      headers: { "content-type": "application/json", ...(token ? { authorization: `Bearer ${token}` } : {}), ...headers },
      ...(body !== undefined ? { body: typeof body === "string" ? body : JSON.stringify(body) } : {}),
    });
    const text = await res.text();
    let json: any; // eslint-disable-line @typescript-eslint/no-explicit-any
    try {
      json = JSON.parse(text);
    } catch {
      json = text;
    }
    return { status: res.status, json };
  };
  const events = (token: string, evs: unknown[], headers?: Record<string, string>) =>
    call("POST", "/v1/events", { events: evs }, token, headers);
  const readAnchor = async (logId: string, size: bigint) => {
    const provider = new JsonRpcProvider(svc.rpcUrl!, undefined, { staticNetwork: true });
    try {
      const c = new Contract(svc.contract()!, anchorArtifact().abi as never, provider);
      const [logRoot, mapRoot] = (await c.getFunction("checkpointAt")(logId, size)) as [string, string];
      return { logRoot, mapRoot };
    } finally {
      provider.destroy();
    }
  };

  before(async () => {
    config = configSchema.parse({
      PORT: "0",
      DATA_DIR: path.join(dir, "data"),
      ORIGIN: "test.keyproof.example/log",
      OPERATOR_TOKEN: OPERATOR,
      CHAIN_PORT: String(await freePort()),
      ANCHOR_INTERVAL: "0",
      LOG_LEVEL: "debug",
    });
    svc = await startService(config, pino({ level: "debug" }, pino.destination({ dest: logFile, sync: true })));
    for (const [id, role] of [
      ["acme", "issuer"],
      ["globex", "issuer"],
      ["shop-a", "seller"],
      ["shop-b", "seller"],
    ] as const) {
      const r = await call("POST", "/v1/participants", { id, role, name: id }, OPERATOR);
      expect(r.status, JSON.stringify(r.json)).to.equal(201);
      tokens[id] = r.json.token;
    }
  });
  after(async () => {
    await svc?.stop();
    cleanup(dir);
  });

  it("issue -> transfer -> sell -> verify -> redeem -> verify, bundles checked by the core verifier and the chain", async () => {
    const code = CODES[0]!;
    expect(
      (await events(tokens.acme!, [{ type: "issue", code, sku: "game-100", face: "100 CNY", expires: "2030-01-01T00:00:00Z" }])).status,
    ).to.equal(200);
    expect((await events(tokens.acme!, [{ type: "transfer", code, to: "shop-a" }])).status).to.equal(200);
    expect((await events(tokens["shop-a"]!, [{ type: "sell", code, order: "ORDER-42" }])).status).to.equal(200);

    const pending = await call("POST", "/v1/verify", { code: "game 7777 alpha" });
    expect(pending.status).to.equal(200);
    expect(pending.json.anchor).to.equal(null);
    const r1 = await verifyBundle(pending.json, { code: "game 7777 alpha", order: "ORDER-42", readAnchor });
    expect(r1.ok, JSON.stringify(r1.checks)).to.equal(true);
    expect(r1.facts).to.include({ status: "sold", issuer: "acme", holder: "shop-a", orderMatches: true });
    expect(r1.checks.find((c) => c.id === "anchor")!.ok).to.equal(null); // waiting for the next anchor

    const anchored = await call("POST", "/v1/anchor", {}, OPERATOR);
    expect(anchored.status, JSON.stringify(anchored.json)).to.equal(200);
    expect(anchored.json.anchored).to.equal(true);
    // Asked again with nothing new: nothing sent, and the answer names the anchor the size already has.
    const again = await call("POST", "/v1/anchor", {}, OPERATOR);
    expect(again.json).to.deep.include({ anchored: false, size: anchored.json.size });
    expect(again.json.anchor).to.include({ size: anchored.json.size, txHash: anchored.json.anchor.txHash, status: "confirmed" });
    const list = await call("GET", "/v1/anchors");
    expect(list.json.anchors.at(-1)).to.include({ status: "confirmed", size: anchored.json.anchor.size });

    const sold = await call("POST", "/v1/verify", { code });
    expect(sold.json.anchor).to.include({ size: anchored.json.anchor.size });
    const r2 = await verifyBundle(sold.json, { code, order: "ORDER-99", readAnchor });
    expect(r2.checks.find((c) => c.id === "anchor")!.ok).to.equal(true);
    expect(r2.checks.find((c) => c.id === "order")!.ok).to.equal(false);
    // The dispute tool reads the same anchor through the RPC, on the chain the bundle names only.
    const file = path.join(dir, "sold.json");
    writeFileSync(file, JSON.stringify(sold.json));
    const cli = await runScript("verify-bundle", [file, "--code", code, "--rpc-url", svc.rpcUrl!]);
    expect(cli.code, cli.stdout + cli.stderr).to.equal(0);
    expect(cli.stdout).to.match(/PASS {2}anchor/);
    writeFileSync(file, JSON.stringify({ ...sold.json, log: { ...sold.json.log, chainId: 1 } }));
    const elsewhere = await runScript("verify-bundle", [file, "--code", code, "--rpc-url", svc.rpcUrl!]);
    expect(elsewhere.stdout).to.contain(`the RPC serves chain ${sold.json.log.chainId}, the bundle's anchor is on chain 1`);

    expect((await events(tokens.acme!, [{ type: "redeem", code }])).status).to.equal(200);
    const redeemed = await verifyBundle((await call("POST", "/v1/verify", { code })).json, { code, readAnchor });
    expect(redeemed.ok).to.equal(true);
    expect(redeemed.facts!.status).to.equal("redeemed");

    // The transaction the anchor names is checked where the chain can be read: it is the one that stored these roots.
    const rpcCall = async (method: string, params: unknown[]): Promise<unknown> => {
      const provider = new JsonRpcProvider(svc.rpcUrl!, undefined, { staticNetwork: true });
      try {
        return await provider.send(method, params);
      } finally {
        provider.destroy();
      }
    };
    const anchorCheck = async (bundle: unknown, readTx = txReaderOver(rpcCall)) =>
      (await verifyBundle(bundle, { code, readAnchor, readTx })).checks.find((c) => c.id === "anchor")!;
    const { txHash, blockNumber } = sold.json.anchor;
    expect(await anchorCheck(sold.json)).to.deep.include({
      ok: true,
      detail: `the chain holds this checkpoint's roots at size ${sold.json.anchor.size}, stored by transaction ${txHash} in block ${blockNumber}`,
    });
    expect(cli.stdout).to.contain(`stored by transaction ${txHash} in block ${blockNumber}`);
    const next = await call("POST", "/v1/anchor", {}, OPERATOR); // a real anchor, of another size
    expect(next.json.anchored, JSON.stringify(next.json)).to.equal(true);
    const pointing = (anchor: object) => ({ ...sold.json, anchor: { ...sold.json.anchor, ...anchor } });
    for (const [anchor, key] of [
      [{ txHash: `0x${"ab".repeat(32)}` }, "anchor.txMissing"],
      [{ txHash: `0x${"ab".repeat(32)}`, blockNumber: 1_000_000 }, "anchor.txFuture"],
      [{ txHash: next.json.anchor.txHash, blockNumber: next.json.anchor.blockNumber }, "anchor.txOther"],
    ] as const) {
      const c = await anchorCheck(pointing(anchor));
      expect(c.ok, JSON.stringify(anchor)).to.equal(false);
      expect(c.said?.key).to.equal(key);
    }
    // The same transaction said to be in another block, as in a bundle made before a reorganisation moved it: the roots and the transaction hold, and the check says where it is.
    expect(await anchorCheck(pointing({ blockNumber: blockNumber + 1 }))).to.deep.include({
      ok: true,
      detail: `the chain holds this checkpoint's roots at size ${sold.json.anchor.size}, stored by transaction ${txHash} in block ${blockNumber}; the bundle says block ${blockNumber + 1} (the chain reorganised after the bundle was made, or the bundle was changed)`,
    });
    // A node that knows neither the transaction nor its block (an old anchor on a pruning node): the roots still hold.
    const forgetful = await anchorCheck(
      sold.json,
      txReaderOver((method, params) => (method === "eth_blockNumber" ? rpcCall(method, params) : Promise.resolve(null))),
    );
    expect(forgetful.ok).to.equal(true);
    expect(forgetful.said?.key).to.equal("anchor.okTxUnknown");
    const unread = await verifyBundle(sold.json, {
      code,
      readAnchor,
      readTx: txReaderOver(() => Promise.reject(new Error("connection refused"))),
    });
    expect(unread.checks.find((c) => c.id === "anchor")).to.deep.include({
      ok: null,
      detail: "the anchor's transaction could not be read: connection refused",
    });

    // A tampered bundle fails.
    const t = structuredClone(sold.json);
    t.state.holder = "shop-b";
    expect((await verifyBundle(t, { code })).ok).to.equal(false);
    expect((await call("POST", "/v1/verify", { code: "NEVER-ISSUED-0" })).json.error.code).to.equal("UNKNOWN_KEY");
  });

  it("answers every state-machine error with its stable code and a 4xx", async () => {
    const [, code2, code3, code4] = CODES as [string, string, string, string];
    await events(tokens.acme!, [
      { type: "issue", code: code2, sku: "s" },
      { type: "issue", code: code3, sku: "s" },
      { type: "issue", code: code4, sku: "s" },
    ]);
    await events(tokens.acme!, [{ type: "void", code: code4, reason: "stolen" }]);
    await events(tokens.acme!, [{ type: "sell", code: code3, order: "o" }]);
    const cases: [string, unknown, string][] = [
      ["acme", { type: "issue", code: code2, sku: "s" }, "DUPLICATE_KEY"],
      ["acme", { type: "sell", code: "NOPE-NOPE-NOPE", order: "o" }, "UNKNOWN_KEY"],
      ["acme", { type: "sell", code: code3, order: "o2" }, "DOUBLE_SALE"],
      ["acme", { type: "redeem", code: CODES[0] }, "ALREADY_REDEEMED"],
      ["acme", { type: "sell", code: code4, order: "o" }, "KEY_VOID"],
      ["shop-a", { type: "transfer", code: code2, to: "shop-b" }, "NOT_HOLDER"],
      ["globex", { type: "redeem", code: code2 }, "NOT_ISSUER"],
      ["acme", { type: "transfer", code: code2, to: "nobody" }, "UNKNOWN_PARTICIPANT"],
      ["shop-a", { type: "issue", code: "SHOP-ISSUED-1", sku: "s" }, "FORBIDDEN_ROLE"],
      ["acme", { type: "issue", code: "x", sku: "s" }, "INVALID_INPUT"],
    ];
    for (const [who, ev, code] of cases) {
      const r = await events(tokens[who]!, [ev]);
      expect(r.status, code).to.be.within(400, 499);
      expect(r.json.error.code, JSON.stringify(ev)).to.equal(code);
      expect(r.json.results[0].error.code).to.equal(code);
    }
    expect((await call("POST", "/v1/events", "{not json", tokens.acme)).json.error.code).to.equal("INVALID_INPUT");
  });

  it("enforces auth and role boundaries", async () => {
    await events(tokens.globex!, [
      { type: "issue", code: "GLOBEX-KEY-001", sku: "s" },
      { type: "transfer", code: "GLOBEX-KEY-001", to: "shop-b" },
    ]);
    expect((await events(tokens["shop-a"]!, [{ type: "redeem", code: "GLOBEX-KEY-001" }])).json.error.code).to.equal("NOT_ISSUER");
    expect((await events(tokens.acme!, [{ type: "void", code: "GLOBEX-KEY-001", reason: "x" }])).json.error.code).to.equal("NOT_HOLDER");
    expect((await events(tokens["shop-a"]!, [{ type: "sell", code: "GLOBEX-KEY-001", order: "o" }])).json.error.code).to.equal(
      "NOT_HOLDER",
    );
    const bad = await events("not-a-real-token-000000", [{ type: "issue", code: "AAAA-0000", sku: "s" }]);
    expect(bad.status).to.equal(401);
    expect(bad.json.error.code).to.equal("UNAUTHORIZED");
    expect((await call("POST", "/v1/events", { events: [] })).status).to.equal(401);
    const p = await call("POST", "/v1/participants", { id: "evil", role: "issuer", name: "x" }, tokens.acme);
    expect(p.status).to.equal(403);
    expect((await call("POST", "/v1/anchor", {}, tokens["shop-a"])).status).to.equal(403);
  });

  it("replays an Idempotency-Key with the first answer and appends nothing", async () => {
    const h = { "idempotency-key": "import-batch-7" };
    const a = await events(tokens.acme!, [{ type: "issue", code: "IDEM-KEY-0001", sku: "s" }], h);
    const size = (await call("GET", "/v1/log")).json.size;
    const b = await events(tokens.acme!, [{ type: "issue", code: "IDEM-KEY-0001", sku: "s" }], h);
    expect(b.json).to.deep.equal(a.json);
    expect((await call("GET", "/v1/log")).json.size).to.equal(size);
  });

  it("refuses an Idempotency-Key reused for other events (422 IDEMPOTENCY_KEY_REUSED) and appends nothing", async () => {
    const h = { "idempotency-key": "import-batch-8" };
    const a = await events(tokens.acme!, [{ type: "issue", code: "IDEM-KEY-0002", sku: "s" }], h);
    expect(a.status).to.equal(200);
    const size = (await call("GET", "/v1/log")).json.size;
    const b = await events(tokens.acme!, [{ type: "issue", code: "IDEM-KEY-0003", sku: "s" }], h);
    expect(b.status).to.equal(422);
    expect(b.json.error.code).to.equal("IDEMPOTENCY_KEY_REUSED");
    expect((await call("GET", "/v1/log")).json.size).to.equal(size);
    expect((await events(tokens.acme!, [{ type: "issue", code: "IDEM-KEY-0002", sku: "s" }], h)).json).to.deep.equal(a.json);
  });

  it("adds each accepted event's inclusion proof to the answer when asked (?proof=inclusion), replays included", async () => {
    const { verifierKey } = (await call("GET", "/v1/log")).json;
    const evs = [
      { type: "issue", code: "RECEIPT-0001-KEY", sku: "s" },
      { type: "issue", code: CODES[1], sku: "s" }, // already issued: refused, no proof
      { type: "issue", code: "RECEIPT-0002-KEY", sku: "s" },
    ];
    const h = { "idempotency-key": "receipts-1" };
    const plain = await call("POST", "/v1/events?proof=inclusion", { events: evs }, tokens.acme, h);
    expect(plain.status, JSON.stringify(plain.json)).to.equal(200);
    const replay = await call("POST", "/v1/events?proof=inclusion", { events: evs }, tokens.acme, h);
    expect(replay.json).to.deep.equal(plain.json);
    const cp = openCheckpoint(plain.json.checkpoint, verifierKey);
    const [a, refused, b] = plain.json.results;
    expect(refused).to.deep.include({ ok: false });
    expect(refused).to.not.have.property("inclusion");
    for (const r of [a, b]) {
      expect(Object.keys(r)).to.deep.equal(["ok", "index", "key", "leafHash", "inclusion"]);
      const { entry } = (await call("GET", `/v1/entries?start=${r.index}&end=${r.index + 1}`)).json.entries[0];
      expect(r.leafHash).to.equal(Buffer.from(leafHash(utf8(entry))).toString("hex"));
      verifyInclusion(
        BigInt(r.index),
        cp.size,
        fromHex(r.leafHash),
        r.inclusion.map((x: string) => fromHex(x)),
        cp.logRoot,
      );
    }
    // The same events without the parameter: the answer of SPEC §8, nothing added.
    const bare = await events(tokens.acme!, [{ type: "issue", code: "RECEIPT-0003-KEY", sku: "s" }]);
    expect(Object.keys(bare.json.results[0])).to.deep.equal(["ok", "index", "key", "leafHash"]);
    for (const q of ["proof=consistency", "proof=", "proofs=inclusion", "proof=inclusion&proof=inclusion"]) {
      const r = await call("POST", `/v1/events?${q}`, { events: [{ type: "issue", code: "RECEIPT-0004-KEY", sku: "s" }] }, tokens.acme);
      expect(r.status, q).to.equal(400);
      expect(r.json.error.code).to.equal("INVALID_INPUT");
    }
  });

  it("serves proofs, entries and tiles that agree with the checkpoint", async () => {
    const log = (await call("GET", "/v1/log")).json;
    const entries = await call("GET", `/v1/entries?start=0&end=${log.size}`);
    expect(entries.json.entries).to.have.length(log.size);
    // A range past the log's end: the page stops at the log's size (RFC 6962 §4.6).
    expect((await call("GET", "/v1/entries?start=0&end=99999")).json.entries).to.deep.equal(entries.json.entries);
    expect((await call("GET", "/v1/proof/inclusion?index=abc&size=1")).json.error.code).to.equal("INVALID_INPUT");
    const checkpointAnswer = await fetch(`${svc.url}/checkpoint`);
    expect(checkpointAnswer.headers.get("content-type")).to.match(/^text\/plain/);
    const cp = openCheckpoint(await checkpointAnswer.text(), log.verifierKey);
    expect(cp.size).to.be.within(1n, 255n); // one partial tile holds the whole log
    const tile = await fetch(`${svc.url}/tile/0/000.p/${cp.size}`);
    expect(tile.status).to.equal(200);
    const hashes = new Uint8Array(await tile.arrayBuffer());
    expect(hashes.byteLength).to.equal(32 * Number(cp.size));
    // The entry bundle: each entry after its two-byte big-endian length (C2SP tlog-tiles).
    const bundle = new Uint8Array(await (await fetch(`${svc.url}/tile/entries/000.p/${cp.size}`)).arrayBuffer());
    const tree = new MemoryTree();
    let at = 0;
    for (let i = 0; i < Number(cp.size); i++) {
      const length = (bundle[at]! << 8) | bundle[at + 1]!;
      const entry = bundle.subarray(at + 2, (at += 2 + length));
      expect(new TextDecoder().decode(entry)).to.equal(entries.json.entries[i].entry);
      expect(tree.appendEntry(entry)).to.deep.equal(hashes.subarray(32 * i, 32 * (i + 1)));
    }
    expect(at).to.equal(bundle.length);
    expect(tree.root()).to.deep.equal(cp.logRoot);
  });

  it("keeps everything across a restart, anchors included", async () => {
    const before = {
      log: (await call("GET", "/v1/log")).json,
      anchors: (await call("GET", "/v1/anchors")).json,
      cp: await (await fetch(`${svc.url}/checkpoint`)).text(),
    };
    await svc.stop();
    svc = await startService(config, pino({ level: "debug" }, pino.destination({ dest: logFile, sync: true, append: true })));
    expect((await call("GET", "/v1/log")).json).to.deep.equal({ ...before.log });
    expect((await call("GET", "/v1/anchors")).json).to.deep.equal(before.anchors);
    expect(await (await fetch(`${svc.url}/checkpoint`)).text()).to.equal(before.cp);
    const again = await call("POST", "/v1/anchor", {}, OPERATOR);
    expect(again.json.anchored).to.equal(true);
    expect((await verifyBundle((await call("POST", "/v1/verify", { code: CODES[1] })).json, { code: CODES[1]!, readAnchor })).ok).to.equal(
      true,
    );
  });

  it("never writes a plaintext code to the data directory or the logs", async () => {
    // A code sent where no route takes it (a mistaken link) is not logged either.
    for (const p of [`/v1/verify/${CODES[0]}`, `/${CODES[1]}`, `/tile/0/${CODES[2]}`]) {
      expect((await fetch(`${svc.url}${p}`)).status).to.equal(404);
    }
    await svc.stop();
    const needles = [...CODES, "GLOBEX-KEY-001", "IDEM-KEY-0001"].flatMap((c) => [c, c.replace(/-/g, "")]);
    for (const f of [...filesUnder(config.DATA_DIR), logFile]) {
      const content = readFileSync(f).toString("latin1");
      for (const n of needles) expect(content.includes(n), `${n} found in ${f}`).to.equal(false);
    }
    svc = await startService(config, pino({ level: "silent" }));
  });
});
