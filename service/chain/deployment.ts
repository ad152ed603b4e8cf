/**
 * Finds or creates the anchor contract for this log: the configured address,
 * else the one recorded under the data directory for this chain, else a fresh
 * deployment. Registers the log when the contract does not know it yet.
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import path from "node:path";
import type { Wallet } from "ethers";
import { z } from "zod";
import type { Logger } from "pino";
import { AnchorClient } from "./contract.js";

const record = z.object({ chainId: z.number(), contract: z.string(), origin: z.string() });

export interface Deployment {
  client: AnchorClient;
  chainId: number;
  address: string;
  /** The recorded contract that vanished from the chain (a reset chain), if any: its anchors are gone. */
  vanished: string | null;
}

export async function ensureDeployment(opts: {
  wallet: Wallet;
  dataDir: string;
  origin: string;
  logId: string;
  contract?: string | undefined;
  log: Logger;
}): Promise<Deployment> {
  const provider = opts.wallet.provider!;
  const chainId = Number((await provider.getNetwork()).chainId);
  const file = path.join(opts.dataDir, "chain", `deployment-${chainId}.json`);
  const saved = existsSync(file) ? record.parse(JSON.parse(readFileSync(file, "utf8"))) : undefined;
  let address = opts.contract ?? saved?.contract;
  let vanished: string | null = null;
  if (address && (await provider.getCode(address)) === "0x") {
    if (opts.contract) throw new Error(`CONTRACT ${opts.contract} has no code on chain ${chainId}`);
    opts.log.error(
      { chainId, contract: address },
      "THE ANCHOR CONTRACT IS GONE FROM THE CHAIN (chain reset?): deploying a new one and re-anchoring",
    );
    vanished = address;
    address = undefined;
  }
  let client: AnchorClient;
  if (address) client = new AnchorClient(address, opts.wallet);
  else {
    client = await AnchorClient.deploy(opts.wallet);
    opts.log.info({ chainId, contract: client.address }, "deployed the anchor contract");
  }
  if ((await client.operatorOf(opts.logId)) === "0x0000000000000000000000000000000000000000") {
    await client.registerLog(opts.origin, opts.wallet.address);
    opts.log.info({ origin: opts.origin }, "registered the log on chain");
  }
  mkdirSync(path.dirname(file), { recursive: true });
  writeFileSync(file, JSON.stringify({ chainId, contract: client.address, origin: opts.origin }, null, 2));
  return { client, chainId, address: client.address, vanished };
}
