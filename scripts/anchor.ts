/**
 * Anchors a log's current signed checkpoint on chain, now or on an interval.
 *
 *   OPERATOR_PRIVATE_KEY=0x… npm run anchor -- --log http://127.0.0.1:8080 --rpc-url https://rpc.example --contract 0x…
 *   npm run anchor -- --log … --network localhost --contract 0x… --interval 300
 *
 * Prints each transaction's hash and gas used. A send still unmined after
 * --tx-timeout seconds is sent again in its place (same nonce) with 30 %
 * higher fees, never above --max-fee-gwei; one the node dropped is sent anew.
 * Exit codes: 0 done (or already
 * anchored), 1 the anchor was refused or failed, 2 bad usage.
 */
import { Command } from "commander";
import { getAddress } from "ethers";
import { z } from "zod";
import { ETH_ADDRESS } from "../service/core/bundle/schema.js";
import { logIdOf } from "../service/core/bundle/verify.js";
import { KeyProofApi } from "../service/client/api.js";
import { AnchorClient } from "../service/chain/contract.js";
import { gweiToWei } from "../service/chain/fees.js";
import { errorText } from "../service/chain/redact.js";
import { anchorCheckpoint } from "../service/tools/anchor-checkpoint.js";
import { fail, parseOptions } from "./cli.js";
import { signerFor } from "./signer.js";

const program = new Command("anchor")
  .description("Anchor a KeyProof log's current signed checkpoint to the anchor contract, once or every --interval seconds.")
  .requiredOption("--log <url>", "the log's base URL")
  .requiredOption("--contract <address>", "the anchor contract the log is registered on")
  .option("--rpc-url <url>", "send through this JSON-RPC endpoint, with OPERATOR_PRIVATE_KEY from the environment")
  .option("--network <name>", "a network from hardhat.config.ts instead of --rpc-url")
  .option("--interval <seconds>", "keep anchoring every so many seconds (Ctrl-C stops)")
  .option("--confirmations <n>", "blocks to wait for", "1")
  .option("--tx-timeout <seconds>", "how long a send may wait unmined before it is sent again with higher fees", "300")
  .option("--max-fee-gwei <gwei>", "the highest fee per gas any send may offer, in gwei (default: no ceiling)")
  .option("--verifier-key <key>", "the log's verifier key to trust (default: the one it publishes)")
  .addHelpText("after", "\nEnvironment:\n  OPERATOR_PRIVATE_KEY  the key of the log's registered operator (required with --rpc-url)\n");

const options = z.object({
  log: z.url(),
  contract: z.string().regex(ETH_ADDRESS, "--contract is not an Ethereum address"),
  rpcUrl: z.url().optional(),
  network: z.string().min(1).optional(),
  interval: z.coerce.number().min(1, "--interval is at least 1 second").optional(),
  confirmations: z.coerce.number().int().min(0).max(64),
  txTimeout: z.coerce.number().min(1, "--tx-timeout is at least 1 second"),
  maxFeeGwei: z.coerce.number().positive("--max-fee-gwei must be positive").max(1_000_000).optional(),
  verifierKey: z.string().min(1).optional(),
});

async function main(): Promise<void> {
  const o = parseOptions(program, options);
  const { signer, close } = await signerFor(o, "OPERATOR_PRIVATE_KEY");
  const api = new KeyProofApi(o.log);
  const contract = getAddress(o.contract);
  let stopping = false;
  process.once("SIGINT", () => {
    stopping = true;
    console.log("stopping after this round (Ctrl-C again quits now)");
  });
  try {
    if ((await signer.provider!.getCode(contract)) === "0x") fail(`no contract at ${contract}`);
    const client = new AnchorClient(contract, signer);
    const info = await api.logInfo();
    const operator = await client.operatorOf(logIdOf(info.origin));
    const me = await signer.getAddress();
    if (operator.toLowerCase() !== me.toLowerCase()) {
      fail(`${me} is not the operator of ${info.origin} on ${contract} (the operator is ${operator})`, 1);
    }
    for (;;) {
      try {
        const r = await anchorCheckpoint({
          api,
          client,
          confirmations: o.confirmations,
          txTimeoutSeconds: o.txTimeout,
          ...(o.maxFeeGwei !== undefined ? { maxFeePerGas: gweiToWei(o.maxFeeGwei) } : {}),
          ...(o.verifierKey ? { verifierKey: o.verifierKey } : {}),
          onSent: (hash, size, again) =>
            console.log(
              !again
                ? `sent anchor of size ${size}: tx ${hash}`
                : "replaces" in again
                  ? `sent anchor of size ${size} again with higher fees: tx ${hash} (in place of ${again.replaces}, unmined after ${o.txTimeout} s)`
                  : `sent anchor of size ${size} anew: tx ${hash} (the node dropped ${again.dropped})`,
            ),
          onStuck: (hash, size) =>
            console.warn(`anchor of size ${size} (tx ${hash}) still waits unmined; --max-fee-gwei leaves no higher fee to offer`),
        });
        if (r.status === "up-to-date") console.log(`the chain already holds size ${r.size}: nothing to anchor`);
        else console.log(`anchored size ${r.size} (from ${r.from}) in block ${r.blockNumber}: tx ${r.txHash}, gas used ${r.gasUsed}`);
      } catch (e) {
        const message = errorText(e);
        if (o.interval === undefined) fail(message, 1);
        console.error(`anchoring failed (retrying in ${o.interval} s): ${message}`);
      }
      if (o.interval === undefined || stopping) break;
      await new Promise((r) => setTimeout(r, o.interval! * 1000));
      if (stopping) break;
    }
  } finally {
    await close();
  }
}

main().catch((e: unknown) => fail(errorText(e)));
