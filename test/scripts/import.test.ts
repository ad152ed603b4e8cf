/**
 * scripts/import.ts against a running service: bad rows and duplicates are
 * reported by line, sales and redemptions go through, and an interrupted
 * import (killed, or its answer lost) resumes without a duplicate or a gap.
 */
import { expect } from "chai";
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import path from "node:path";
import pino from "pino";
import { configSchema } from "../../service/config.js";
import { decodeEntry } from "../../service/core/index.js";
import { KeyProofApi } from "../../service/client/api.js";
import { startService, type RunningService } from "../../service/server.js";
import { importCsv, type ImportState } from "../../service/tools/csv-import.js";
import { cleanup, tempDir } from "../helpers/ledger.js";
import { runScript, startScript } from "../helpers/scripts.js";

const OPERATOR = "operator-token-for-import-tests-0123";

describe("scripts/import.ts", function () {
  this.timeout(240_000);
  const dir = tempDir("keyproof-import-");
  let svc: RunningService;
  const tokens: Record<string, string> = {};

  const post = async (p: string, body: unknown, token: string) => {
    const res = await fetch(`${svc.url}${p}`, {
      method: "POST",
      headers: { "content-type": "application/json", authorization: `Bearer ${token}` },
      body: JSON.stringify(body),
    });
    return (await res.json()) as Record<string, string>;
  };
  /** Every entry of the log, decoded. */
  const logEvents = async () => {
    const api = new KeyProofApi(svc.url);
    const { size } = await api.logInfo();
    const out = [];
    for (let s = 0; s < size; s += 1000) out.push(...(await api.entries(s, Math.min(size, s + 1000))).map((e) => decodeEntry(e.entry)));
    return out;
  };
  const csv = (name: string, text: string): string => {
    const file = path.join(dir, name);
    writeFileSync(file, text);
    return file;
  };
  const importAs = (who: string, file: string, ...args: string[]) =>
    runScript("import", [file, "--api", svc.url, "--no-progress", ...args], { KEYPROOF_TOKEN: tokens[who]! });

  before(async () => {
    const config = configSchema.parse({
      PORT: "0",
      DATA_DIR: path.join(dir, "data"),
      OPERATOR_TOKEN: OPERATOR,
      ANCHORING: "off",
      LOG_LEVEL: "silent",
    });
    svc = await startService(config, pino({ level: "silent" }));
    for (const [id, role] of [
      ["acme", "issuer"],
      ["shop-a", "seller"],
    ] as const)
      tokens[id] = (await post("/v1/participants", { id, role, name: id }, OPERATOR)).token!;
  });
  after(async () => {
    await svc?.stop();
    cleanup(dir);
  });

  it("reads a CSV in GB18030 with --encoding, and refuses it as UTF-8 before sending anything", async () => {
    const before = (await logEvents()).length;
    // "点卡" (game card) in GB18030, as Excel on Chinese Windows saves a CSV.
    const card = Buffer.from([0xb5, 0xe3, 0xbf, 0xa8]);
    const file = path.join(dir, "gb18030.csv");
    writeFileSync(
      file,
      Buffer.concat([Buffer.from("code,sku\r\nGBK-0001-AAAA,"), card, Buffer.from("-100\r\nGBK-0002-BBBB,"), card, Buffer.from("-50\r\n")]),
    );
    const refused = await importAs("acme", file);
    expect(refused.code).to.equal(2);
    expect(refused.stderr).to.contain("is not utf-8 text (line 2)").and.contain("--encoding gb18030");
    expect((await logEvents()).length).to.equal(before);
    const unknown = await importAs("acme", file, "--encoding", "klingon");
    expect(unknown.code).to.equal(2);
    expect(unknown.stderr).to.contain("--encoding");
    const r = await importAs("acme", file, "--encoding", "gb18030");
    expect(r.code, r.stderr).to.equal(0);
    const added = (await logEvents()).slice(before);
    expect(added.map((e) => (e.type === "issue" ? e.attrs.sku : null))).to.deep.equal(["点卡-100", "点卡-50"]);
  });

  it("names the line of a byte that is not text, in a line across the file's 1 MiB reads and at its very end", async () => {
    const rows = ["code,sku", ...Array.from({ length: 60_000 }, (_, i) => `LONG-${i}-AAAAAAAA,sku`)];
    const text = Buffer.from(`${rows.join("\n")}\n`);
    const lineAt = (byte: number) => text.subarray(0, byte).toString().split("\n").length;
    // The first read ends on a lead byte whose continuation, in the second read, is not one.
    const across = (1 << 20) - 1;
    expect(text[across]).to.not.equal(0x0a);
    const cases: [Buffer, number][] = [
      [Buffer.concat([text.subarray(0, across), Buffer.from([0xe7]), text.subarray(across + 1)]), lineAt(across)],
      [Buffer.concat([text, Buffer.from("LAST-0001-AAAA,x\xe7".split("").map((c) => c.charCodeAt(0)))]), rows.length + 1],
    ];
    for (const [bytes, line] of cases) {
      const file = path.join(dir, "bad-bytes.csv");
      writeFileSync(file, bytes);
      const api = { postEvents: () => expect.fail("nothing is sent") } as unknown as KeyProofApi;
      const err = await importCsv({ file, mode: "issue", api, batchSize: 100, statePath: `${file}.state`, restart: true }).catch(
        (e: Error) => e,
      );
      expect(String(err)).to.contain(`is not utf-8 text (line ${line})`);
    }
  });

  it("issues the good rows and reports bad rows and duplicates with their line numbers", async () => {
    const before = (await logEvents()).length;
    const file = csv(
      "mixed.csv",
      [
        "code,sku,batch,expires,face,price",
        "MIX-0001-AAAA,game-100,b1,2027-01-01T00:00:00Z,100,9", // 2
        "MIX-0002-BBBB,game-100,b1,,100,9", // 3
        "mix 0001 aaaa,game-100,b1,,100,9", // 4 duplicate of 2 after normalization
        "BAD,game-100,b1,,100,9", // 5 too short
        "MIX-0003-CCCC,,b1,,100,9", // 6 no sku
        "MIX-0004-DDDD,game-100,b1,next tuesday,100,9", // 7 bad expiry
        "MIX-0005-EEEE,game-100,b2,,50,9", // 8
        "MIX-0002-BBBB,game-200,b2,,50,9", // 9 duplicate of 3
        "MIX-0006-FFFF", // 10 the row stops after the code
      ].join("\n") + "\n",
    );
    const r = await importAs("acme", file, "--batch-size", "2", "--report", path.join(dir, "mixed.json"));
    expect(r.code, r.stderr).to.equal(1);
    expect(r.stderr).to.contain("ignoring column(s) price");
    for (const expected of [
      "accepted     3",
      "bad rows     4",
      "duplicates   2",
      "line 4: duplicate: same code as line 2",
      "line 5: bad-row: code must have 4 to 256 characters",
      "line 6: bad-row: sku is empty",
      "line 7: bad-row: expires: must be an RFC 3339 date-time with its offset, like 2027-12-31T23:59:59+08:00",
      "line 9: duplicate: same code as line 3",
      "line 10: bad-row: sku is missing: the row has fewer columns than the header",
    ])
      expect(r.stdout).to.contain(expected);
    const report = JSON.parse(readFileSync(path.join(dir, "mixed.json"), "utf8")) as ImportState;
    expect(report.problems.map((p) => p.line).sort((a, b) => a - b)).to.deep.equal([4, 5, 6, 7, 9, 10]);
    const issued = (await logEvents()).slice(before);
    expect(issued.map((e) => e.type)).to.deep.equal(["issue", "issue", "issue"]);
    expect(issued.map((e) => (e.type === "issue" ? e.attrs.batch : null))).to.deep.equal(["b1", "b1", "b2"]);
    expect(JSON.stringify(issued)).not.to.contain("MIX-000"); // commitments only
    // The files and output a shop keeps around name lines, never codes.
    for (const [where, text] of [
      ["report", readFileSync(path.join(dir, "mixed.json"), "utf8")],
      ["state", readFileSync(`${file}.issue.import-state.json`, "utf8")],
      ["output", r.stdout + r.stderr],
    ])
      for (const code of ["MIX-0001-AAAA", "MIX0001AAAA", "mix 0001 aaaa", "MIX-0004-DDDD", "MIX0002BBBB"])
        expect(text, `${code} in ${where}`).not.to.contain(code);

    const again = await importAs("acme", file, "--batch-size", "2");
    expect(again.stdout).to.contain("nothing to do");
    expect((await logEvents()).length).to.equal(before + 3);
  });

  it("imports sales and redemptions, and reports the rows the service refused with their codes", async () => {
    await importAs("acme", csv("keys2.csv", "code,sku\nSALE-0001-AAAA,s\nSALE-0002-BBBB,s\nSALE-0003-CCCC,s\n"));
    const sales = await importAs(
      "acme",
      csv("sales.csv", "code,order\nSALE-0001-AAAA,order-1\nSALE-0002-BBBB,order-2\nNEVER-ISSUED-1,order-3\n"),
      "--mode",
      "sell",
    );
    expect(sales.code).to.equal(1);
    expect(sales.stdout).to.contain("accepted     2");
    expect(sales.stdout).to.match(/line 4: rejected UNKNOWN_KEY/);
    const redeem = await importAs("acme", csv("redeem.csv", "code\nSALE-0001-AAAA\nSALE-0003-CCCC\n"), "--mode", "redeem");
    expect(redeem.code, redeem.stdout).to.equal(0);
    const byShop = await importAs("shop-a", csv("sales-b.csv", "code,order\nSALE-0002-BBBB,order-9\n"), "--mode", "sell");
    expect(byShop.stdout).to.match(/line 2: rejected (DOUBLE_SALE|NOT_HOLDER)/);
    const tail = (await logEvents()).slice(-4).map((e) => e.type);
    expect(tail).to.deep.equal(["sell", "sell", "redeem", "redeem"]);
  });

  it("transfers keys to a seller who sells them, and voids keys with a reason", async () => {
    await importAs("acme", csv("keys3.csv", "code,sku\nMOVE-0001-AAAA,s\nMOVE-0002-BBBB,s\nMOVE-0003-CCCC,s\n"));
    const sales = csv("sales-c.csv", "code,order\nMOVE-0001-AAAA,order-77\n");
    const early = await importAs("shop-a", sales, "--mode", "sell");
    expect(early.stdout).to.match(/line 2: rejected NOT_HOLDER/);
    const moved = await importAs(
      "acme",
      csv("stock.csv", "code,to\nMOVE-0001-AAAA,shop-a\nMOVE-0002-BBBB,shop-a\nMOVE-0003-CCCC,nobody\n"),
      "--mode",
      "transfer",
    );
    expect(moved.code).to.equal(1);
    expect(moved.stdout).to.contain("accepted     2");
    expect(moved.stdout).to.match(/line 4: rejected UNKNOWN_PARTICIPANT/);
    const again = await importAs("shop-a", sales, "--mode", "sell");
    expect(again.stdout).to.contain("already imported").and.contain("--restart sends the whole file again");
    // Once the seller holds the key, a restart sends the sale again instead of replaying the first refusal.
    const sold = await importAs("shop-a", sales, "--mode", "sell", "--restart");
    expect(sold.code, sold.stdout).to.equal(0);
    expect(sold.stdout).to.contain("accepted     1");
    const voided = await importAs(
      "acme",
      csv("dead.csv", "code,reason\nMOVE-0002-BBBB,recalled by the issuer\nMOVE-0003-CCCC,\n"),
      "--mode",
      "void",
    );
    expect(voided.code).to.equal(1);
    expect(voided.stdout).to.contain("accepted     1");
    expect(voided.stdout).to.contain("line 3: bad-row: reason is empty");
    const tail = (await logEvents()).slice(-4);
    expect(tail.map((e) => e.type)).to.deep.equal(["transfer", "transfer", "sell", "void"]);
    expect(tail.map((e) => (e.type === "transfer" ? e.attrs.to : e.type === "void" ? e.attrs.reason : null))).to.deep.equal([
      "shop-a",
      "shop-a",
      null,
      "recalled by the issuer",
    ]);
  });

  it("resumes after being killed mid-import: no row twice, none skipped", async () => {
    const before = (await logEvents()).length;
    const rows = Array.from({ length: 3000 }, (_, i) => `KILL-${String(i).padStart(5, "0")}-ZZ,sku-${i % 5}`);
    const file = csv("big.csv", `code,sku\n${rows.join("\n")}\n`);
    const state = `${file}.issue.import-state.json`;
    const run = startScript("import", [file, "--api", svc.url, "--no-progress", "--batch-size", "50"], { KEYPROOF_TOKEN: tokens.acme! });
    for (let i = 0; i < 600; i++) {
      if (existsSync(state) && (JSON.parse(readFileSync(state, "utf8")) as ImportState).nextLine > 800) break;
      await new Promise((r) => setTimeout(r, 20));
    }
    run.child.kill("SIGKILL");
    await run.done;
    const cut = JSON.parse(readFileSync(state, "utf8")) as ImportState;
    expect(cut.done).to.equal(false);

    const resumed = await importAs("acme", file, "--batch-size", "50");
    expect(resumed.code, resumed.stdout + resumed.stderr).to.equal(0);
    expect(resumed.stdout).to.contain(`resumed at line ${cut.nextLine}`);
    expect(resumed.stdout).to.contain("accepted     3000");
    expect(resumed.stdout).to.contain("refused      0");
    const added = (await logEvents()).slice(before);
    expect(added.length).to.equal(3000);
    expect(new Set(added.map((e) => (e.type === "issue" ? e.key : ""))).size).to.equal(3000);
  });

  it("a batch whose answer was lost is replayed under its key, not appended twice", async () => {
    const before = (await logEvents()).length;
    const rows = Array.from({ length: 40 }, (_, i) => `LOST-${String(i).padStart(4, "0")}-QQ,sku`);
    const file = csv("lost.csv", `code,sku\n${rows.join("\n")}\n`);
    const statePath = path.join(dir, "lost.state.json");
    const real = new KeyProofApi(svc.url, { token: tokens.acme! });
    let calls = 0;
    // The third batch reaches the service, which appends it; the answer never comes back.
    const flaky = Object.assign(Object.create(real) as KeyProofApi, {
      postEvents: async (events: unknown[], key?: string) => {
        const answer = await real.postEvents(events, key);
        if (++calls === 3) throw new Error("connection reset");
        return answer;
      },
    });
    let error: unknown;
    try {
      await importCsv({ file, mode: "issue", api: flaky, batchSize: 10, statePath });
    } catch (e) {
      error = e;
    }
    expect((error as Error).message).to.equal("connection reset");
    expect((await logEvents()).length).to.equal(before + 30);
    const done = await importCsv({ file, mode: "issue", api: real, batchSize: 10, statePath });
    expect(done.resumedFromLine).to.equal(22);
    expect(done.state.counts).to.deep.equal({ rows: 40, accepted: 40, rejected: 0, badRows: 0, duplicates: 0 });
    expect((await logEvents()).length).to.equal(before + 40);
  });

  it("refuses bad usage with a clear message and exit 2", async () => {
    const file = csv("ok.csv", "code,sku\nUSAGE-0001-AA,s\n");
    const noToken = await runScript("import", [file, "--api", svc.url], { KEYPROOF_TOKEN: "" });
    expect(noToken.code).to.equal(2);
    expect(noToken.stderr).to.contain("KEYPROOF_TOKEN");
    const badHeader = await importAs("acme", csv("hdr.csv", "serial,sku\nX-1,s\n"));
    expect(badHeader.code).to.equal(2);
    expect(badHeader.stderr).to.contain("lacks the column(s) code");
    const badBatch = await importAs("acme", file, "--batch-size", "0");
    expect(badBatch.code).to.equal(2);
    expect(badBatch.stderr).to.contain("batchSize");
    const badMode = await importAs("acme", file, "--mode", "gift");
    expect(badMode.code).to.equal(2);
    expect(badMode.stderr).to.contain("'gift' is invalid");
    const unknown = await importAs("acme", file, "--dry-run");
    expect(unknown.code).to.equal(2);
    expect(unknown.stderr).to.contain("unknown option '--dry-run'");
    const badToken = await runScript("import", [file, "--api", svc.url], { KEYPROOF_TOKEN: "wrong-token-0000000000" });
    expect(badToken.code).to.equal(2);
    expect(badToken.stderr).to.contain("UNAUTHORIZED");

    await importAs("acme", file);
    writeFileSync(file, "code,sku\nUSAGE-0001-AA,s\nUSAGE-0002-BB,s\n");
    const changed = await importAs("acme", file);
    expect(changed.code).to.equal(2);
    expect(changed.stderr).to.contain("--restart");
    const restarted = await importAs("acme", file, "--restart");
    expect(restarted.stdout).to.contain("accepted     1");
    expect(restarted.stdout).to.match(/line 2: rejected DUPLICATE_KEY/);

    const help = await runScript("import", ["--help"]);
    expect(help.code).to.equal(0);
    expect(help.stdout).to.contain("code, sku, batch?, expires? (RFC 3339), face?");
  });
});
