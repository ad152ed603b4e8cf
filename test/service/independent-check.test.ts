/**
 * A third party's check of a running service: test/core/vectors/live_check.py,
 * Python written from SPEC.md alone (spec.py, the same formulas that computed
 * the known-answer vectors), rebuilds the log and map roots from the served
 * entries, checks the signed checkpoint, the proofs, every key's state, the
 * anchors on the chain and the bundles: over a log of more than one entries
 * page with every kind of event, codes and orders in and out of ASCII; and
 * over a log that anchors on an embedded chain.
 */
import path from "node:path";
import { expect } from "chai";
import pino from "pino";
import { startAnvil, type EmbeddedChain } from "../../service/chain/anvil.js";
import { configSchema } from "../../service/config.js";
import { startService, type RunningService } from "../../service/server.js";
import { waitFor } from "../helpers/anvil-rpc.js";
import { cleanup, tempDir } from "../helpers/ledger.js";
import { freePort } from "../helpers/ports.js";
import { runVectorsScript } from "../helpers/python.js";

const OPERATOR = "operator-token-for-independent-check-01";
const KEYS = 1100;

type Answer = { status: number; json: { results?: { ok: boolean }[]; token?: string } };

/** A service of its own with three participants, and what the tests do with it. */
async function serve(env: Record<string, string>) {
  const svc: RunningService = await startService(
    configSchema.parse({ PORT: "0", OPERATOR_TOKEN: OPERATOR, LOG_LEVEL: "silent", VERIFY_RATE_LIMIT: "1000000", ...env }),
    pino({ level: "silent" }),
  );
  const tokens: Record<string, string> = { operator: OPERATOR };
  const post = async (p: string, body: unknown, who: string): Promise<Answer> => {
    const res = await fetch(`${svc.url}${p}`, {
      method: "POST",
      headers: { "content-type": "application/json", authorization: `Bearer ${tokens[who]}` },
      body: JSON.stringify(body),
    });
    return { status: res.status, json: (await res.json()) as Answer["json"] };
  };
  const events = async (who: string, list: object[]): Promise<void> => {
    const a = await post("/v1/events", { events: list }, who);
    expect(a.status, JSON.stringify(a.json).slice(0, 300)).to.equal(200);
    expect(
      a.json.results?.every((r) => r.ok),
      JSON.stringify(a.json).slice(0, 300),
    ).to.equal(true);
  };
  const check = (...codes: string[]) => runVectorsScript("live_check.py", [svc.url, ...codes]);
  for (const [id, role, name] of [
    ["acme", "issuer", "Acme 游戏卡"],
    ["shop-a", "seller", "Shop A 卡盟"],
    ["shop-b", "seller", "Shop B"],
  ] as const) {
    const r = await post("/v1/participants", { id, role, name }, "operator");
    expect(r.status).to.equal(201);
    tokens[id] = r.json.token!;
  }
  return { svc, events, check };
}

describe("an independent verifier (Python, from SPEC.md alone) against a running service", function () {
  this.timeout(180_000);
  const dir = tempDir("keyproof-independent-");
  let s: Awaited<ReturnType<typeof serve>>;

  before(async () => {
    s = await serve({ DATA_DIR: path.join(dir, "data"), ANCHORING: "off" });
    // More keys than one /v1/entries page holds.
    for (let i = 0; i < KEYS; i += 100) {
      const batch = Array.from({ length: Math.min(100, KEYS - i) }, (_, j) => ({
        type: "issue",
        code: `GAME-${String(i + j).padStart(4, "0")}-KEY`,
        sku: i % 200 === 0 ? "点卡 100" : "game-100",
        ...(j % 3 === 0 ? { expires: "2099-12-31T23:59:59+08:00" } : {}),
      }));
      await s.events("acme", batch);
    }
    await s.events("acme", [
      { type: "issue", code: "卡密-0001-兑换", sku: "gift-50", face: "50 CNY" },
      { type: "issue", code: "ＡＢＣＤ　1234-ef", sku: "gift-50" },
      ...Array.from({ length: 40 }, (_, i) => ({ type: "transfer", code: `GAME-${String(i).padStart(4, "0")}-KEY`, to: "shop-a" })),
      { type: "transfer", code: "卡密-0001-兑换", to: "shop-b" },
      { type: "transfer", code: "abcd1234EF", to: "shop-a" },
    ]);
    await s.events("shop-a", [
      ...Array.from({ length: 30 }, (_, i) => ({ type: "sell", code: `GAME-${String(i).padStart(4, "0")}-KEY`, order: `ORD-${i}` })),
      { type: "sell", code: "ABCD-1234-EF", order: "订单-2026-0001" },
      { type: "void", code: "GAME-0035-KEY", reason: "damaged card" },
    ]);
    await s.events("shop-b", [{ type: "sell", code: "卡密0001兑换", order: "\u{1F600}".repeat(200) }]);
    await s.events("acme", [
      { type: "redeem", code: "GAME-0000-KEY" },
      { type: "redeem", code: "GAME-0500-KEY" }, // never sold: SPEC §3 accepts it
      { type: "void", code: "GAME-0501-KEY", reason: "recalled" },
    ]);
  });
  after(async () => {
    await s?.svc.stop();
    cleanup(dir);
  });

  it("finds the service's checkpoint, entries, roots, proofs, key states and bundles as SPEC.md defines them", async () => {
    const r = await s.check(
      "GAME-0000-KEY=ORD-0",
      "GAME-0001-KEY=ORD-1",
      "卡密-0001-兑换=" + "\u{1F600}".repeat(200),
      "abcd 1234 ef=订单-2026-0001",
      "GAME-0500-KEY",
    );
    expect(r.out, "live_check.py").to.match(/^ok: /);
    expect(r.status).to.equal(0);
    const entries = 3 + KEYS + 2 + 42 + 32 + 1 + 3;
    expect(r.out).to.equal(
      `ok: ${entries} entries, ${KEYS + 2} keys, 11 tiles, 64 inclusion proofs, 64 consistency proofs, ${KEYS + 2 + 8} map proofs, 5 bundles\n`,
    );
  });

  it("fails where the service's answer does not prove what is claimed: another order, a code it never issued", async () => {
    const order = await s.check("GAME-0002-KEY=ORD-3");
    expect(order.out).to.contain("FAILED [bundle of GAME-0002-KEY]: §2 the sale commits to the order given\n");
    expect(order.status).to.equal(1);
    const unknown = await s.check("GAME-9999-KEY");
    expect(unknown.out).to.match(/^FAILED \[bundle of GAME-9999-KEY\]: .*\/v1\/verify answered 404/m);
    expect(unknown.status).to.equal(1);
  });

  it("names every failure, not only the first, and checks every part past them", async () => {
    const r = await s.check("GAME-0002-KEY=ORD-3", "GAME-9999-KEY", "GAME-0001-KEY=ORD-1", "GAME-0003-KEY=ORD-9");
    const failed = r.out.split("\n").filter((l) => l.startsWith("FAILED"));
    expect(failed, r.out).to.have.length(3);
    expect(failed[0]).to.equal("FAILED [bundle of GAME-0002-KEY]: §2 the sale commits to the order given");
    expect(failed[1]).to.match(/^FAILED \[bundle of GAME-9999-KEY\]: .*\/v1\/verify answered 404/);
    expect(failed[2]).to.equal("FAILED [bundle of GAME-0003-KEY]: §2 the sale commits to the order given");
    // The parts before the bundles ran in full, and so did the bundles that could be read.
    expect(r.out).to.match(
      /^3 failures in 3 of the parts; checked: \d+ entries, \d+ keys, 11 tiles, 64 inclusion proofs, 64 consistency proofs, \d+ map proofs, 3 bundles$/m,
    );
    expect(r.status).to.equal(1);
  });
});

describe("an independent verifier (Python, from SPEC.md alone) against a service that anchors", function () {
  this.timeout(180_000);
  const dir = tempDir("keyproof-independent-chain-");
  let chain: EmbeddedChain;
  let s: Awaited<ReturnType<typeof serve>>;

  before(async () => {
    chain = await startAnvil({ stateDir: path.join(dir, "chain"), port: await freePort() });
    s = await serve({ DATA_DIR: path.join(dir, "data"), RPC_URL: chain.rpcUrl, ANCHOR_INTERVAL: "1" });
  });
  after(async () => {
    await s?.svc.stop();
    await chain?.stop();
    cleanup(dir);
  });

  const anchoredAt = (size: bigint) =>
    waitFor(`an anchor confirmed at ${size}`, async () => {
      const a = (await (await fetch(`${s.svc.url}/v1/anchors`)).json()) as { anchors: { size: number; status: string }[] };
      return a.anchors.some((x) => x.status === "confirmed" && x.size === Number(size)) ? true : undefined;
    });

  it("finds every anchor on the contract /v1/log names, at the roots of the log's prefix, and the bundles' checkpoints there", async () => {
    await s.events(
      "acme",
      Array.from({ length: 20 }, (_, i) => ({ type: "issue", code: `CHAIN-${i}-KEY`, sku: "game-100" })),
    );
    await anchoredAt(s.svc.ledger.size);
    await s.events("acme", [{ type: "transfer", code: "CHAIN-0-KEY", to: "shop-a" }]);
    await s.events("shop-a", [{ type: "sell", code: "CHAIN-0-KEY", order: "订单-7" }]);
    await anchoredAt(s.svc.ledger.size);
    const r = await s.check("CHAIN-0-KEY=订单-7", "CHAIN-5-KEY");
    expect(r.out, "live_check.py").to.match(/^ok: /);
    expect(r.status).to.equal(0);
    expect(r.out).to.match(/, [2-8] anchors, 2 anchored bundles, 2 bundles\n$/);
  });
});
