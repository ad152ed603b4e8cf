/**
 * Deploys the KeyProof anchor contract and registers a log on it.
 *
 *   npm run deploy -- --origin keyproof.example.com/log                 # Hardhat's in-process network (a dry run)
 *   npm run deploy -- --origin … --network localhost                    # a network named in hardhat.config.ts
 *   DEPLOYER_PRIVATE_KEY=0x… npm run deploy -- --origin … --rpc-url https://rpc.example
 *
 * Prints the address and saves it to deployments/<chainId>.json.
 */
import { mkdirSync, writeFileSync } from "node:fs";
import path from "node:path";
import { Command } from "commander";
import { getAddress } from "ethers";
import { z } from "zod";
import { ETH_ADDRESS } from "../service/core/bundle/schema.js";
import { logIdOf } from "../service/core/bundle/verify.js";
import { AnchorClient } from "../service/chain/contract.js";
import { errorText } from "../service/chain/redact.js";
import { fail, parseOptions } from "./cli.js";
import { signerFor } from "./signer.js";

const options = z.object({
  origin: z.string().regex(/^[\x21-\x7e]{1,255}$/, "an origin is printable ASCII without spaces, e.g. keyproof.example.com/log"),
  network: z.string().min(1).optional(),
  rpcUrl: z.url().optional(),
  operator: z.string().regex(ETH_ADDRESS, "not an Ethereum address").optional(),
  out: z.string().default("deployments"),
});

const program = new Command("deploy")
  .description("Deploy the KeyProof anchor contract and register a log on it.")
  .requiredOption("--origin <origin>", "the log's origin (its checkpoint's first line)")
  .option("--network <name>", "a network from hardhat.config.ts (default: Hardhat's in-process network)")
  .option("--rpc-url <url>", "deploy through this JSON-RPC endpoint, with DEPLOYER_PRIVATE_KEY from the environment")
  .option("--operator <address>", "the address allowed to anchor the log (default: the deployer)")
  .option("--out <dir>", "where to save <chainId>.json", "deployments")
  .addHelpText("after", "\nEnvironment:\n  DEPLOYER_PRIVATE_KEY  the deployer's key (required with --rpc-url; optional with --network)\n");

async function main(): Promise<void> {
  const o = parseOptions(program, options);
  const { signer, close } = await signerFor(o, "DEPLOYER_PRIVATE_KEY");
  try {
    const deployer = await signer.getAddress();
    const operator = getAddress(o.operator ?? deployer);
    const chainId = Number((await signer.provider!.getNetwork()).chainId);
    console.log(`deploying KeyProofAnchor to chain ${chainId} from ${deployer}…`);
    const client = await AnchorClient.deploy(signer);
    const registerTx = await client.registerLog(o.origin, operator);
    const record = {
      chainId,
      contract: client.address,
      origin: o.origin,
      logId: logIdOf(o.origin),
      operator,
      admin: deployer,
      deployTx: client.deployTx,
      registerTx,
      deployedAt: new Date().toISOString(),
    };
    mkdirSync(o.out, { recursive: true });
    const file = path.join(o.out, `${chainId}.json`);
    writeFileSync(file, `${JSON.stringify(record, null, 2)}\n`);
    console.log(`contract ${client.address}`);
    console.log(`log ${o.origin} registered as ${record.logId}, operator ${operator}`);
    console.log(`saved ${file}`);
  } finally {
    await close();
  }
}

main().catch((e: unknown) => fail(errorText(e)));
