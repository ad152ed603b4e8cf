/**
 * The regulator's audit against logs tampered in every way it must catch.
 * Each fixture's anchors are put on a real anchor contract (which checks
 * their consistency itself); the log is served over HTTP; the audit must
 * name exactly the broken thing.
 */
import { expect } from "chai";
import { readFileSync, writeFileSync } from "node:fs";
import path from "node:path";
import { JsonRpcProvider, Wallet } from "ethers";
import { EMBEDDED_CHAIN_ID as CHAIN_ID, startAnvil, type EmbeddedChain } from "../../service/chain/anvil.js";
import { AnchorClient } from "../../service/chain/contract.js";
import { DEV_PRIVATE_KEY } from "../../service/config.js";
import { createSigner, fromHex, logIdOf, sha256, signCheckpoint, utf8, type FindingCode } from "../../service/core/index.js";
import { KeyProofApi } from "../../service/client/api.js";
import { audit, type AuditReport } from "../../service/tools/audit/auditor.js";
import { anchorFixture, makeFixture, serveFixture, TAMPERS, type Fixture, type Tamper } from "../helpers/tampered-log.js";
import { cleanup, tempDir } from "../helpers/ledger.js";
import { freePort } from "../helpers/ports.js";
import { runScript } from "../helpers/scripts.js";

const EXPECTED: Record<Tamper, FindingCode[]> = {
  clean: [],
  "redeemed-without-sale": ["REDEEMED_WITHOUT_SALE"],
  "double-sale": ["RULE_VIOLATION"],
  "unregistered-actor": ["UNREGISTERED_ACTOR"],
  "time-backwards": ["TIME_BACKWARDS"],
  "malformed-entry": ["MALFORMED_ENTRY"],
  "map-root": ["MAP_ROOT_MISMATCH"],
  // The rewritten log can no longer prove its way from the earlier anchor to the forked one either.
  fork: ["FORK", "INCONSISTENT_ANCHORS"],
  "missing-entries": ["MISSING_ENTRIES"],
  "bad-checkpoint": ["BAD_CHECKPOINT"],
  "checkpoint-root": ["LOG_ROOT_MISMATCH"],
  "inconsistent-anchors": ["INCONSISTENT_ANCHORS"],
};

describe("audit: tampered logs are caught with the right finding", function () {
  this.timeout(180_000);
  const dir = tempDir("keyproof-audit-");
  let chain: EmbeddedChain;
  let provider: JsonRpcProvider;
  let client: AnchorClient;
  let operator: string;
  const served: Partial<Record<Tamper, { fixture: Fixture; url: string; close: () => Promise<void> }>> = {};

  before(async () => {
    chain = await startAnvil({ stateDir: path.join(dir, "chain"), port: await freePort() });
    provider = new JsonRpcProvider(chain.rpcUrl, undefined, { staticNetwork: true, cacheTimeout: -1 });
    const wallet = new Wallet(DEV_PRIVATE_KEY, provider);
    operator = wallet.address;
    client = await AnchorClient.deploy(wallet);
    for (const t of TAMPERS) {
      const fixture = await makeFixture(t);
      await anchorFixture(client, operator, fixture);
      served[t] = { fixture, ...(await serveFixture(fixture)) };
    }
  });
  after(async () => {
    for (const s of Object.values(served)) await s?.close();
    provider?.destroy();
    await chain?.stop();
    cleanup(dir);
  });

  const run = async (t: Tamper, extra: { checkpoints?: { source: string; note: string }[] } = {}): Promise<AuditReport> => {
    const s = served[t]!;
    const anchors = client.streamAnchoredEvents(logIdOf(s.fixture.origin));
    return audit({ api: new KeyProofApi(s.url, { attempts: 1 }), anchors, verifierKey: s.fixture.verifierKey, workDir: dir, ...extra });
  };

  for (const t of TAMPERS) {
    it(`${t}: ${EXPECTED[t].length ? EXPECTED[t].join(" + ") : "clean"}`, async () => {
      const report = await run(t);
      expect(Object.keys(report.findingCounts).sort(), JSON.stringify(report.findings, null, 1)).to.deep.equal([...EXPECTED[t]].sort());
      expect(report.ok).to.equal(t === "clean");
      expect([...report.anchors].map((a) => a.size)).to.deep.equal(served[t]!.fixture.anchors.map((a) => a.size));
      if (t !== "missing-entries") expect(report.entriesAudited).to.equal(served[t]!.fixture.entries.length);
    });
  }

  it("points at the entry that broke a rule, and at the size where a root went wrong", async () => {
    const sale = await run("double-sale");
    expect(sale.findings[0]!.index).to.equal(served["double-sale"]!.fixture.entries.length - 1);
    expect(sale.findings[0]!.detail).to.contain("DOUBLE_SALE");
    const fork = await run("fork");
    const f = fork.findings.find((x) => x.code === "FORK")!;
    expect(f.size).to.equal(served.fork!.fixture.entries.length);
    expect([...fork.anchors].map((a) => a.logRootOk)).to.deep.equal([true, true, false]);
    const missing = await run("missing-entries");
    expect(missing.findings.find((x) => x.code === "MISSING_ENTRIES")!.index).to.equal(30);
  });

  it("checks signed checkpoints collected elsewhere: an honest old one passes, a forged one is named", async () => {
    const f = served.clean!.fixture;
    const signer = createSigner(f.origin, sha256(utf8(`signing seed for ${f.origin}`)));
    const a = f.anchors[1]!;
    const honest = signCheckpoint(
      { origin: f.origin, size: BigInt(a.size), logRoot: fromHex(a.logRoot.slice(2), 32), mapRoot: fromHex(a.mapRoot.slice(2), 32) },
      signer,
    );
    const forged = signCheckpoint(
      { origin: f.origin, size: BigInt(a.size), logRoot: sha256(utf8("x")), mapRoot: fromHex(a.mapRoot.slice(2), 32) },
      signer,
    );
    expect((await run("clean", { checkpoints: [{ source: "bundle.json", note: honest }] })).ok).to.equal(true);
    const r = await run("clean", { checkpoints: [{ source: "forged.txt", note: forged }] });
    expect(r.findingCounts).to.deep.equal({ LOG_ROOT_MISMATCH: 1 });
    expect(r.findings[0]!.detail).to.contain("forged.txt");
  });

  it("says where it read the anchors, and warns when that is not where the log says it anchors, or holds no anchor", async () => {
    const f = served.clean!.fixture;
    const published = await serveFixture(f, { chainId: CHAIN_ID, contract: client.address });
    try {
      const api = new KeyProofApi(published.url, { attempts: 1 });
      const anchors = client.streamAnchoredEvents(logIdOf(f.origin));
      const here = { chainId: CHAIN_ID, contract: client.address.toLowerCase(), fromBlock: 0 };
      const same = await audit({ api, anchors, chain: here, verifierKey: f.verifierKey, workDir: dir });
      expect(same.ok).to.equal(true);
      expect(same.chain).to.deep.equal(here);
      expect(same.warnings).to.deep.equal([]);

      const elsewhere = { chainId: 1, contract: "0x000000000000000000000000000000000000dEaD", fromBlock: 0 };
      const other = await audit({ api, anchors: [], chain: elsewhere, verifierKey: f.verifierKey, workDir: dir });
      expect(other.ok, "no rule or root is broken").to.equal(true);
      expect(other.warnings).to.have.length(3);
      expect(other.warnings[0]).to.contain(`anchors on chain ${CHAIN_ID}`).and.contain("read on chain 1");
      expect(other.warnings[1]).to.contain(client.address).and.contain(elsewhere.contract);
      expect(other.warnings[2]).to.contain(`none of its ${f.entries.length} entries`);

      const unchecked = await audit({ api, anchors: null, verifierKey: f.verifierKey, workDir: dir });
      expect(unchecked.chain).to.equal(null);
      expect(unchecked.warnings).to.deep.equal(["the anchors were not checked: no chain was given"]);
    } finally {
      await published.close();
    }
  });

  it("the script: exit 0 and a clean summary; exit 1 with the findings and a JSON report; exit 2 on bad usage", async () => {
    const common = (t: Tamper) => [
      "--log",
      served[t]!.url,
      "--rpc-url",
      chain.rpcUrl,
      "--contract",
      client.address,
      "--verifier-key",
      served[t]!.fixture.verifierKey,
    ];
    const out = path.join(dir, "clean.json");
    const ok = await runScript("audit", [...common("clean"), "--out", out]);
    expect(ok.code, ok.stderr).to.equal(0);
    expect(ok.stdout).to.contain("CLEAN");
    expect((JSON.parse(readFileSync(out, "utf8")) as AuditReport).ok).to.equal(true);

    const bad = path.join(dir, "fork.json");
    const forked = await runScript("audit", [...common("fork"), "--out", bad]);
    expect(forked.code, forked.stderr).to.equal(1);
    expect(forked.stdout).to.contain("FORK");
    expect((JSON.parse(readFileSync(bad, "utf8")) as AuditReport).findingCounts.FORK).to.equal(1);

    const cpFile = path.join(dir, "garbage.txt");
    writeFileSync(cpFile, "not a note");
    const withCp = await runScript("audit", [...common("clean"), "--out", path.join(dir, "cp.json"), "--checkpoint", cpFile]);
    expect(withCp.code).to.equal(1);
    expect(withCp.stdout).to.contain("BAD_CHECKPOINT");

    const usage = await runScript("audit", ["--log", served.clean!.url]);
    expect(usage.code).to.equal(2);
    expect(usage.stderr).to.contain("--rpc-url and --contract");
    const wrongContract = await runScript("audit", [
      ...common("clean").slice(0, 5),
      "0x000000000000000000000000000000000000dEaD",
      "--out",
      path.join(dir, "x.json"),
    ]);
    expect(wrongContract.code).to.equal(2);
    expect(wrongContract.stderr).to.contain("no contract").and.contain(`on chain ${CHAIN_ID}`);
    // A contract with no anchor of this log: nothing is broken, and the summary says nothing is anchored there.
    const empty = await AnchorClient.deploy(new Wallet(DEV_PRIVATE_KEY, provider));
    const unanchored = await runScript("audit", [...common("clean").slice(0, 5), empty.address, "--out", path.join(dir, "empty.json")]);
    expect(unanchored.code, unanchored.stderr).to.equal(0);
    expect(unanchored.stdout).to.contain(`chain: ${CHAIN_ID}, contract ${empty.address}`);
    expect(unanchored.stdout).to.contain("warning: no anchor of this log").and.contain("see the warnings above");
    const noChain = await runScript("audit", ["--log", served.clean!.url, "--no-chain", "--out", path.join(dir, "nochain.json")]);
    expect(noChain.code, noChain.stderr).to.equal(0);
    expect(noChain.stdout).to.contain("chain: not checked").and.contain("warning: the anchors were not checked");
    const help = await runScript("audit", ["--help"]);
    expect(help.code).to.equal(0);
    expect(help.stdout).to.contain("--verifier-key");
  });
});
