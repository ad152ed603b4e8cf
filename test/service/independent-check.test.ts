/**
 * A third party's check of a running service: test/core/vectors/live_check.py,
 * Python written from SPEC.md alone (spec.py, the same formulas that computed
 * the known-answer vectors), rebuilds the log and map roots from the served
 * entries, checks the signed checkpoint, the proofs, every key's state and the
 * bundles, over a log of more than one entries page with every kind of event,
 * codes and orders in and out of ASCII.
 */
import { spawn } from "node:child_process";
import path from "node:path";
import { expect } from "chai";
import pino from "pino";
import { configSchema } from "../../service/config.js";
import { startService, type RunningService } from "../../service/server.js";
import { cleanup, tempDir } from "../helpers/ledger.js";
import { ROOT } from "../helpers/scripts.js";

const OPERATOR = "operator-token-for-independent-check-01";
const CHECKER = path.join(ROOT, "test/core/vectors/live_check.py");
const KEYS = 1100;

describe("an independent verifier (Python, from SPEC.md alone) against a running service", function () {
  this.timeout(180_000);
  const dir = tempDir("keyproof-independent-");
  let svc: RunningService;
  const tokens: Record<string, string> = {};

  const post = async (
    p: string,
    body: unknown,
    who: string,
  ): Promise<{ status: number; json: { results?: { ok: boolean }[]; token?: string } }> => {
    const res = await fetch(`${svc.url}${p}`, {
      method: "POST",
      headers: { "content-type": "application/json", authorization: `Bearer ${tokens[who]}` },
      body: JSON.stringify(body),
    });
    return { status: res.status, json: (await res.json()) as { results?: { ok: boolean }[]; token?: string } };
  };
  const events = async (who: string, list: object[]): Promise<void> => {
    const a = await post("/v1/events", { events: list }, who);
    expect(a.status, JSON.stringify(a.json).slice(0, 300)).to.equal(200);
    expect(
      a.json.results?.every((r) => r.ok),
      JSON.stringify(a.json).slice(0, 300),
    ).to.equal(true);
  };
  /** Runs the checker; asynchronously, since the service answers it from this process's event loop. */
  const check = (...codes: string[]) =>
    new Promise<{ status: number | null; out: string }>((resolve, reject) => {
      const child = spawn("python3", [CHECKER, svc.url, ...codes], {
        cwd: path.dirname(CHECKER),
        // Codes and orders beyond ASCII in argv and in what it prints, whatever the locale.
        env: { ...process.env, PYTHONUTF8: "1" },
      });
      let out = "";
      child.stdout.on("data", (d: Buffer) => (out += d.toString("utf8")));
      child.stderr.on("data", (d: Buffer) => (out += d.toString("utf8")));
      child.on("error", reject);
      child.on("close", (status) => resolve({ status, out }));
    });

  before(async () => {
    const config = configSchema.parse({
      PORT: "0",
      DATA_DIR: path.join(dir, "data"),
      OPERATOR_TOKEN: OPERATOR,
      ANCHORING: "off",
      LOG_LEVEL: "silent",
      VERIFY_RATE_LIMIT: "1000000",
    });
    svc = await startService(config, pino({ level: "silent" }));
    tokens.operator = OPERATOR;
    for (const [id, role, name] of [
      ["acme", "issuer", "Acme 游戏卡"],
      ["shop-a", "seller", "Shop A 卡盟"],
      ["shop-b", "seller", "Shop B"],
    ] as const) {
      const r = await post("/v1/participants", { id, role, name }, "operator");
      expect(r.status).to.equal(201);
      tokens[id] = r.json.token!;
    }
    // More keys than one /v1/entries page holds.
    for (let i = 0; i < KEYS; i += 100) {
      const batch = Array.from({ length: Math.min(100, KEYS - i) }, (_, j) => ({
        type: "issue",
        code: `GAME-${String(i + j).padStart(4, "0")}-KEY`,
        sku: i % 200 === 0 ? "点卡 100" : "game-100",
        ...(j % 3 === 0 ? { expires: "2099-12-31T23:59:59+08:00" } : {}),
      }));
      await events("acme", batch);
    }
    await events("acme", [
      { type: "issue", code: "卡密-0001-兑换", sku: "gift-50", face: "50 CNY" },
      { type: "issue", code: "ＡＢＣＤ　1234-ef", sku: "gift-50" },
      ...Array.from({ length: 40 }, (_, i) => ({ type: "transfer", code: `GAME-${String(i).padStart(4, "0")}-KEY`, to: "shop-a" })),
      { type: "transfer", code: "卡密-0001-兑换", to: "shop-b" },
      { type: "transfer", code: "abcd1234EF", to: "shop-a" },
    ]);
    await events("shop-a", [
      ...Array.from({ length: 30 }, (_, i) => ({ type: "sell", code: `GAME-${String(i).padStart(4, "0")}-KEY`, order: `ORD-${i}` })),
      { type: "sell", code: "ABCD-1234-EF", order: "订单-2026-0001" },
      { type: "void", code: "GAME-0035-KEY", reason: "damaged card" },
    ]);
    await events("shop-b", [{ type: "sell", code: "卡密0001兑换", order: "\u{1F600}".repeat(200) }]);
    await events("acme", [
      { type: "redeem", code: "GAME-0000-KEY" },
      { type: "redeem", code: "GAME-0500-KEY" }, // never sold: SPEC §3 accepts it
      { type: "void", code: "GAME-0501-KEY", reason: "recalled" },
    ]);
  });
  after(async () => {
    await svc?.stop();
    cleanup(dir);
  });

  it("finds the service's checkpoint, entries, roots, proofs, key states and bundles as SPEC.md defines them", async () => {
    const r = await check(
      "GAME-0000-KEY=ORD-0",
      "GAME-0001-KEY=ORD-1",
      "卡密-0001-兑换=" + "\u{1F600}".repeat(200),
      "abcd 1234 ef=订单-2026-0001",
      "GAME-0500-KEY",
    );
    expect(r.out, "live_check.py").to.match(/^ok: /);
    expect(r.status).to.equal(0);
    const entries = 3 + KEYS + 2 + 42 + 32 + 1 + 3;
    expect(r.out).to.contain(
      `ok: ${entries} entries, ${KEYS + 2} keys, 64 inclusion proofs, 64 consistency proofs, ${KEYS + 2 + 8} map proofs, 5 bundles`,
    );
  });

  it("fails where the service's answer does not prove what is claimed: another order, a code it never issued", async () => {
    const order = await check("GAME-0002-KEY=ORD-3");
    expect(order.out).to.contain("FAILED: §2 the sale commits to the order given");
    expect(order.status).to.equal(1);
    const unknown = await check("GAME-9999-KEY");
    expect(unknown.out).to.match(/FAILED: .*\/v1\/verify answered 404/);
    expect(unknown.status).to.equal(1);
  });
});
