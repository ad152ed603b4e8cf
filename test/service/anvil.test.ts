import { expect } from "chai";
import path from "node:path";
import { startAnvil } from "../../service/chain/anvil.js";
import { cleanup, tempDir } from "../helpers/ledger.js";
import { freePort, holdPort, releasePort } from "../helpers/ports.js";

describe("embedded anvil", function () {
  this.timeout(60_000);
  const dir = tempDir("keyproof-anvil-");
  after(() => cleanup(dir));

  it("starts on a free port and stops; on a port in use it fails with anvil's own reason", async () => {
    const port = await freePort();
    const chain = await startAnvil({ stateDir: path.join(dir, "a"), port });
    const answer = await fetch(chain.rpcUrl, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ jsonrpc: "2.0", id: 1, method: "eth_chainId", params: [] }),
    });
    expect(((await answer.json()) as { result: string }).result).to.equal("0x7a69");
    await chain.stop();
    expect(chain.process.exitCode !== null || chain.process.signalCode !== null).to.equal(true);

    const taken = await holdPort(port);
    try {
      let failure: unknown;
      await startAnvil({ stateDir: path.join(dir, "b"), port }).catch((e: unknown) => (failure = e));
      expect(String(failure)).to.match(/anvil exited \(\d+\): .*in use/i);
    } finally {
      await releasePort(taken);
    }
  });
});
