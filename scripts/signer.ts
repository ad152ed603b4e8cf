/** A transaction signer for the chain tools: a JSON-RPC URL with a key from the environment, or a Hardhat network. */
import { JsonRpcProvider, Wallet, type Signer } from "ethers";
import { fail } from "./cli.js";

export interface ChainTarget {
  network?: string | undefined;
  rpcUrl?: string | undefined;
}

/** Reads the 32-byte hex key in `envVar` (with or without 0x), or undefined when unset. */
function keyFromEnv(envVar: string): string | undefined {
  const raw = process.env[envVar] || undefined;
  if (raw !== undefined && !/^(0x)?[0-9a-fA-F]{64}$/.test(raw)) fail(`${envVar} must be 32 bytes of hex`);
  return raw && (raw.startsWith("0x") ? raw : `0x${raw}`);
}

export async function signerFor(target: ChainTarget, envVar: string): Promise<{ signer: Signer; close: () => Promise<void> }> {
  const key = keyFromEnv(envVar);
  if (target.rpcUrl) {
    if (target.network) fail("give either --network or --rpc-url, not both");
    if (!key) fail(`--rpc-url needs ${envVar} in the environment`);
    const provider = new JsonRpcProvider(target.rpcUrl, undefined, { cacheTimeout: -1 });
    return { signer: new Wallet(key, provider), close: async () => provider.destroy() };
  }
  // Hardhat is loaded only here: --rpc-url works without a Hardhat project around.
  const { network } = await import("hardhat");
  const conn = await network.create(target.network);
  const { ethers } = conn;
  const signer = key ? new Wallet(key, ethers.provider) : (await ethers.getSigners())[0];
  if (!signer) fail(`network ${target.network ?? "hardhat"} has no accounts: set ${envVar}`);
  return { signer, close: () => conn.close() };
}
