import { expect } from "chai";
import { readFileSync, writeFileSync } from "node:fs";
import path from "node:path";
import { logIdOf } from "../../service/core/index.js";
import { buildBundle } from "../../service/bundle.js";
import { cleanup, openLedger, ORIGIN, tempDir, withParticipants } from "../helpers/ledger.js";
import { startRefusingNode } from "../helpers/anvil-rpc.js";
import { runScript } from "../helpers/scripts.js";
import { serveApp } from "../helpers/app.js";

describe("scripts/verify-bundle.ts", function () {
  this.timeout(60_000);
  const dir = tempDir("keyproof-vb-");
  const file = path.join(dir, "bundle.json");
  const tampered = path.join(dir, "tampered.json");
  const code = "CLI-0001-KEY";
  let verifierKey = "";

  before(async () => {
    const ledger = await withParticipants(await openLedger(path.join(dir, "ledger")));
    await ledger.submit({
      actor: "acme",
      requests: [
        { type: "issue", code, sku: "s" },
        { type: "sell", code, order: "ORD-1" },
      ],
    });
    const bundle = await buildBundle(
      ledger,
      { origin: ORIGIN, verifierKey: ledger.verifierKey, logId: logIdOf(ORIGIN), chainId: null, contract: null },
      code,
    );
    verifierKey = ledger.verifierKey;
    await ledger.close();
    writeFileSync(file, JSON.stringify(bundle));
    writeFileSync(tampered, JSON.stringify({ ...bundle, state: { ...bundle.state, holder: "shop-b" } }));
  });
  after(() => cleanup(dir));

  it("verifies a good bundle with exit code 0", async () => {
    const r = await runScript("verify-bundle", [file, "--code", "cli 0001 key", "--order", "ORD-1"]);
    expect(r.code, r.stderr).to.equal(0);
    expect(r.stdout).to.contain("VERIFIED").and.contain("PASS  order");
  });

  it("with --log, names the issuer and seller, each proved from its registration in that log", async () => {
    const ledger = await openLedger(path.join(dir, "ledger"));
    const served = await serveApp(ledger);
    // Another log with the same participants' ids and names: its registrations prove nothing here.
    const otherDir = tempDir("keyproof-vb-other-");
    const other = await withParticipants(await openLedger(otherDir));
    // As long as this one, so that it answers at the bundle's size with a proof, which fails here.
    await other.submit({
      actor: "acme",
      requests: [
        { type: "issue", code: "OTHER-0001-KEY", sku: "s" },
        { type: "sell", code: "OTHER-0001-KEY", order: "ORD-1" },
      ],
    });
    const otherServed = await serveApp(other);
    try {
      const r = await runScript("verify-bundle", [file, "--code", code, "--log", served.url]);
      expect(r.code, r.stderr).to.equal(0);
      expect(r.stdout).to.contain("issued by Acme Games (acme)").and.contain("sold by Acme Games (acme)");
      expect(r.stdout).to.contain(`names proved from their registrations in ${served.url}`);
      const json = await runScript("verify-bundle", [file, "--code", code, "--log", served.url, "--json"]);
      expect(JSON.parse(json.stdout)).to.deep.include({ names: { acme: "Acme Games" }, unprovedNames: {} });
      const elsewhere = await runScript("verify-bundle", [file, "--code", code, "--log", otherServed.url]);
      expect(elsewhere.code, "the bundle itself still verifies").to.equal(0);
      expect(elsewhere.stdout).to.contain("issued by acme (s)").and.contain("name of acme not proved").and.contain("inclusion proof");
      // A tampered bundle names no one.
      const bad = await runScript("verify-bundle", [tampered, "--code", code, "--log", served.url]);
      expect(bad.code).to.equal(1);
      expect(bad.stdout).to.not.contain("Acme Games");
    } finally {
      await otherServed.close();
      await other.close();
      cleanup(otherDir);
      await served.close();
      await ledger.close();
    }
  });

  it("verifies only under the trusted log's verifier key and contract when they are given", async () => {
    const shown = await runScript("verify-bundle", [file, "--code", code]);
    expect(shown.stdout).to.contain(`log: ${verifierKey}`).and.contain("compare with what the platform publishes");
    const pinned = await runScript("verify-bundle", [file, "--code", code, "--verifier-key", verifierKey]);
    expect(pinned.code, pinned.stderr).to.equal(0);
    expect(pinned.stdout).to.contain("PASS  log").and.contain("trusted verifier key").and.not.contain("compare with");
    const other = `${ORIGIN}+00000000+${Buffer.alloc(33, 1).toString("base64")}`;
    const wrongKey = await runScript("verify-bundle", [file, "--code", code, "--verifier-key", other]);
    expect(wrongKey.code).to.equal(1);
    expect(wrongKey.stdout).to.contain("FAIL  log").and.contain("is not the trusted");
    const contract = `0x${"12".repeat(20)}`;
    const wrongContract = await runScript("verify-bundle", [file, "--code", code, "--contract", contract]);
    expect(wrongContract.code).to.equal(1);
    expect(wrongContract.stdout).to.contain("the bundle's anchor contract (none) is not the trusted");
    const bad = await runScript("verify-bundle", [file, "--code", code, "--contract", "0x12"]);
    expect(bad.code).to.equal(2);
    expect(bad.stderr).to.contain("--contract is not an Ethereum address");
  });

  it("fails a tampered bundle, a wrong code and a missing file with non-zero exit codes", async () => {
    const t = await runScript("verify-bundle", [tampered, "--code", code]);
    expect(t.code).to.equal(1);
    expect(t.stdout).to.contain("NOT VERIFIED").and.contain("FAIL  state");
    const wrong = await runScript("verify-bundle", [file, "--code", "OTHER-KEY-1"]);
    expect(wrong.code).to.equal(1);
    expect(wrong.stdout).to.contain("FAIL  commitment").and.not.contain("OTHER-KEY-1");
    const missing = await runScript("verify-bundle", [path.join(dir, "nope.json"), "--code", code]);
    expect(missing.code).to.equal(2);
    expect(missing.stderr).to.contain("cannot read");
  });

  it("names an unreachable chain's node by scheme, host and port only (the rest of an RPC URL may be its API key)", async () => {
    const secret = "k3y-0f-th3-h0st3d-n0d3-4d5e6f";
    const node = await startRefusingNode();
    try {
      const host = node.host;
      const onChain = path.join(dir, "on-chain.json");
      const bundle = JSON.parse(readFileSync(file, "utf8")) as { log: Record<string, unknown> };
      writeFileSync(onChain, JSON.stringify({ ...bundle, log: { ...bundle.log, chainId: 1, contract: `0x${"11".repeat(20)}` } }));
      const r = await runScript("verify-bundle", [onChain, "--code", code, "--rpc-url", `http://${host}/v3/${secret}`]);
      expect(r.stdout).to.contain("chain not reachable").and.contain(`http://${host}/…`);
      expect(r.stdout + r.stderr).not.to.contain(secret);
      // The bundle names its chain, so nothing is detected (ethers prints failed detections on stdout).
      expect(r.stdout).not.to.contain("detect network");
    } finally {
      await node.close();
    }
  });
});
