import { expect } from "chai";
import { readFileSync } from "node:fs";
import path from "node:path";
import { JsonRpcProvider } from "ethers";
import { startAnvil, type EmbeddedChain } from "../../service/chain/anvil.js";
import { AnchorClient } from "../../service/chain/contract.js";
import { DEV_PRIVATE_KEY } from "../../service/config.js";
import { logIdOf } from "../../service/core/index.js";
import { cleanup, tempDir } from "../helpers/ledger.js";
import { freePort } from "../helpers/ports.js";
import { runScript } from "../helpers/scripts.js";

describe("scripts/deploy.ts", function () {
  this.timeout(120_000);
  const dir = tempDir("keyproof-deploy-");
  let chain: EmbeddedChain;

  before(async () => {
    chain = await startAnvil({ stateDir: path.join(dir, "chain"), port: await freePort() });
  });
  after(async () => {
    await chain?.stop();
    cleanup(dir);
  });

  it("deploys through an RPC URL with the key from the environment, registers the origin and saves the record", async () => {
    const out = path.join(dir, "deployments");
    const operator = "0x70997970C51812dc3A010C7d01b50e0d17dc79C8";
    const r = await runScript("deploy", ["--origin", "deploy.test/log", "--rpc-url", chain.rpcUrl, "--operator", operator, "--out", out], {
      DEPLOYER_PRIVATE_KEY: DEV_PRIVATE_KEY,
    });
    expect(r.code, r.stderr).to.equal(0);
    const record = JSON.parse(readFileSync(path.join(out, "31337.json"), "utf8")) as Record<string, string>;
    expect(r.stdout).to.contain(record.contract);
    expect(record.logId).to.equal(logIdOf("deploy.test/log"));
    const provider = new JsonRpcProvider(chain.rpcUrl, undefined, { staticNetwork: true });
    try {
      const client = new AnchorClient(record.contract!, provider);
      const [onChainOperator, origin] = (await client.contract.getFunction("logInfo")(record.logId)) as [string, string];
      expect(onChainOperator).to.equal(operator);
      expect(origin).to.equal("deploy.test/log");
    } finally {
      provider.destroy();
    }
  });

  it("deploys to Hardhat's in-process network by default", async () => {
    const out = path.join(dir, "hardhat");
    const r = await runScript("deploy", ["--origin", "dry.run/log", "--out", out]);
    expect(r.code, r.stderr).to.equal(0);
    expect(JSON.parse(readFileSync(path.join(out, "31337.json"), "utf8"))).to.include({ origin: "dry.run/log" });
  });

  it("refuses bad input with a clear message and exit code 2", async () => {
    const noKey = await runScript("deploy", ["--origin", "x.y/log", "--rpc-url", chain.rpcUrl], { DEPLOYER_PRIVATE_KEY: "" });
    expect(noKey.code).to.equal(2);
    expect(noKey.stderr).to.contain("DEPLOYER_PRIVATE_KEY");
    const badOrigin = await runScript("deploy", ["--origin", "has space"]);
    expect(badOrigin.code).to.equal(2);
    expect(badOrigin.stderr).to.contain("origin");
    const badOperator = await runScript("deploy", ["--origin", "a.b/log", "--operator", "0x123"]);
    expect(badOperator.code).to.equal(2);
    expect(badOperator.stderr).to.contain("not an Ethereum address");
  });
});
