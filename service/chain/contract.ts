/** The anchor contract client: deployment, registration and typed calls. */
import { readFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { Contract, ContractFactory, type ContractRunner, type Provider, type Signer } from "ethers";
import { z } from "zod";
import { ethAddress } from "../core/bundle/schema.js";
import type { Fees } from "./fees.js";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");

/**
 * ethers' NONCE_EXPIRED, said for what it is here: another transaction of
 * the same key took the nonce (ethers' own message carries the whole signed
 * transaction, 900 characters).
 */
function nonceTaken(e: unknown): Error | null {
  if ((e as { code?: unknown } | null)?.code !== "NONCE_EXPIRED") return null;
  return new Error(
    "the operator key's nonce was taken by another transaction of the same key (scripts/anchor.ts and a service anchoring one log with one key?)",
    { cause: e },
  );
}

export function anchorArtifact(): { abi: unknown[]; bytecode: string } {
  const file = path.join(root, "artifacts/contracts/KeyProofAnchor.sol/KeyProofAnchor.json");
  try {
    return JSON.parse(readFileSync(file, "utf8")) as { abi: unknown[]; bytecode: string };
  } catch {
    throw new Error(`contract artifact missing at ${file}: run "npx hardhat build" first`);
  }
}

const bytes32 = z.string().regex(/^0x[0-9a-fA-F]{64}$/);
/** RPC answers are outside input too: checked before use. */
const checkpointAnswer = z.tuple([bytes32, bytes32, z.bigint()]);
const logInfoAnswer = z.tuple([ethAddress, z.string()]);
const latestAnswer = z.tuple([z.bigint(), bytes32, bytes32, z.bigint()]);
const blockNumber = z.number().int().nonnegative();
const anchoredLog = z.object({
  blockNumber,
  transactionHash: bytes32,
  index: z.number().int().nonnegative(),
  args: z.tuple([bytes32, z.bigint(), bytes32, bytes32]),
});

/** What the node says of a sent transaction (fees null where its type has none). */
const sentTx = z.object({
  nonce: z.number().int().nonnegative(),
  gasLimit: z.bigint().positive(),
  blockNumber: blockNumber.nullable(),
  gasPrice: z.bigint().nullable(),
  maxFeePerGas: z.bigint().nullable(),
  maxPriorityFeePerGas: z.bigint().nullable(),
});
const minedReceipt = z.object({
  status: z.number().int().nullable(),
  blockNumber,
  gasUsed: z.bigint().nonnegative(),
});
const feeData = z.object({
  gasPrice: z.bigint().nullable(),
  maxFeePerGas: z.bigint().nullable(),
  maxPriorityFeePerGas: z.bigint().nullable(),
});

/** EIP-1559 fees where the node or transaction has them, else its gas price. */
function toFees(f: z.infer<typeof feeData>): Fees {
  if (f.maxFeePerGas !== null && f.maxPriorityFeePerGas !== null)
    return { maxFeePerGas: f.maxFeePerGas, maxPriorityFeePerGas: f.maxPriorityFeePerGas };
  if (f.gasPrice === null) throw new Error("the node reported no gas price");
  return { gasPrice: f.gasPrice };
}

/** A send the node holds unmined: what a send in its place keeps and raises (service/chain/fees.ts). */
export interface Waiting {
  nonce: number;
  /** Kept as it was: a node estimates gas on its pending state, where the waiting send already ran, so the copy would not pass. */
  gasLimit: bigint;
  fees: Fees;
}

/** How an anchor is sent: in the place of a waiting one (nonce and gas limit), and at what fees (the node's otherwise). */
export interface SendOptions {
  nonce?: number;
  gasLimit?: bigint;
  fees?: Fees;
}

/** One `Anchored` event, as the chain logged it. */
export interface AnchoredEvent {
  size: bigint;
  logRoot: string;
  mapRoot: string;
  blockNumber: number;
  txHash: string;
}

/** A sent `anchor` transaction. */
export interface SentAnchor {
  hash: string;
  /** Resolves once mined with `confirmations`; throws when it reverted, or after `timeoutMs` (dropped?). */
  wait(confirmations: number, timeoutMs?: number): Promise<{ blockNumber: number; gasUsed: bigint }>;
}

export class AnchorClient {
  readonly contract: Contract;
  constructor(
    readonly address: string,
    runner: ContractRunner,
  ) {
    this.contract = new Contract(address, anchorArtifact().abi as never, runner);
  }

  /** Deploys the contract with `signer` as its admin; resolves once mined. */
  static async deploy(signer: Signer): Promise<AnchorClient & { deployTx: string }> {
    const { abi, bytecode } = anchorArtifact();
    const factory = new ContractFactory(abi as never, bytecode, signer);
    const c = await factory.deploy(await signer.getAddress());
    await c.waitForDeployment();
    const client = new AnchorClient(await c.getAddress(), signer);
    return Object.assign(client, { deployTx: c.deploymentTransaction()!.hash });
  }

  /** Registers a log for `origin` with its operator; resolves with the mined transaction's hash. */
  async registerLog(origin: string, operator: string): Promise<string> {
    try {
      const tx = (await this.contract.getFunction("registerLog")(origin, operator)) as { hash: string; wait(): Promise<unknown> };
      await tx.wait();
      return tx.hash;
    } catch (e) {
      throw this.refusal(e) ?? e;
    }
  }

  async checkpointAt(logId: string, size: bigint): Promise<{ logRoot: string; mapRoot: string; timestamp: bigint }> {
    const [logRoot, mapRoot, timestamp] = checkpointAnswer.parse([...(await this.contract.getFunction("checkpointAt")(logId, size))]);
    return { logRoot: logRoot.toLowerCase(), mapRoot: mapRoot.toLowerCase(), timestamp };
  }

  async latest(logId: string): Promise<{ size: bigint; logRoot: string; mapRoot: string }> {
    const [size, logRoot, mapRoot] = latestAnswer.parse([...(await this.contract.getFunction("latest")(logId))]);
    return { size, logRoot: logRoot.toLowerCase(), mapRoot: mapRoot.toLowerCase() };
  }

  /**
   * Sends `anchor` for (size, roots) with the consistency proof from the
   * latest anchored size.
   */
  async sendAnchor(
    logId: string,
    size: bigint,
    logRoot: string,
    mapRoot: string,
    proof: string[],
    options: SendOptions = {},
  ): Promise<SentAnchor> {
    type Sent = {
      hash: string;
      wait(c: number, timeout?: number): Promise<{ status: number | null; blockNumber: number; gasUsed: bigint } | null>;
    };
    let tx: Sent;
    try {
      tx = (await this.contract.getFunction("anchor")(logId, size, logRoot, mapRoot, proof, {
        ...(options.nonce !== undefined ? { nonce: options.nonce } : {}),
        ...(options.gasLimit !== undefined ? { gasLimit: options.gasLimit } : {}),
        ...options.fees,
      })) as Sent;
    } catch (e) {
      throw this.refusal(e) ?? nonceTaken(e) ?? e;
    }
    return {
      hash: tx.hash,
      wait: async (confirmations, timeoutMs) => {
        const receipt = await tx.wait(confirmations, timeoutMs);
        if (!receipt || receipt.status !== 1) throw new Error(`anchor transaction ${tx.hash} failed`);
        return { blockNumber: receipt.blockNumber, gasUsed: receipt.gasUsed };
      },
    };
  }

  /** The node's fees now. */
  async fees(): Promise<Fees> {
    const f = await this.provider().getFeeData();
    return toFees(feeData.parse({ gasPrice: f.gasPrice, maxFeePerGas: f.maxFeePerGas, maxPriorityFeePerGas: f.maxPriorityFeePerGas }));
  }

  /** The chain's newest block number. */
  head(): Promise<number> {
    return this.provider().getBlockNumber();
  }

  /** The mined transaction `hash` once it has `confirmations`; throws if it reverted, or after `timeoutMs`. */
  async mined(hash: string, confirmations: number, timeoutMs?: number): Promise<{ blockNumber: number; gasUsed: bigint }> {
    const r = await this.provider().waitForTransaction(hash, confirmations, timeoutMs);
    const receipt = minedReceipt.parse(r && { status: r.status, blockNumber: r.blockNumber, gasUsed: r.gasUsed });
    if (receipt.status !== 1) throw new Error(`anchor transaction ${hash} failed`);
    return { blockNumber: receipt.blockNumber, gasUsed: receipt.gasUsed };
  }

  /** The block the node has the mined transaction `hash` in: null while it is unmined, and when no block holds it. */
  async minedIn(hash: string): Promise<number | null> {
    const r = await this.provider().getTransactionReceipt(hash);
    return r === null ? null : blockNumber.parse(r.blockNumber);
  }

  /** The transaction `hash` if the node holds it unmined; null when it was mined (whatever its outcome) or the node no longer knows it (dropped). */
  async waiting(hash: string): Promise<Waiting | null> {
    const raw = await this.provider().getTransaction(hash);
    if (!raw) return null;
    const tx = sentTx.parse({
      nonce: raw.nonce,
      gasLimit: raw.gasLimit,
      blockNumber: raw.blockNumber,
      gasPrice: raw.gasPrice,
      maxFeePerGas: raw.maxFeePerGas,
      maxPriorityFeePerGas: raw.maxPriorityFeePerGas,
    });
    return tx.blockNumber === null ? { nonce: tx.nonce, gasLimit: tx.gasLimit, fees: toFees(tx) } : null;
  }

  /**
   * The contract's own refusal in a failed send, by name and arguments
   * ('SizeNotIncreasing(…, 13, 13)', 'LogAlreadyRegistered(…)'), or null. The node refuses while
   * estimating gas, and ethers, there, does not decode the contract's custom
   * errors: it said 'unknown custom error' and printed the raw revert data.
   */
  private refusal(e: unknown): Error | null {
    const data = (e as { data?: unknown } | null)?.data;
    if (typeof data !== "string" || !/^0x[0-9a-fA-F]{8}/.test(data)) return null;
    let parsed;
    try {
      parsed = this.contract.interface.parseError(data);
    } catch {
      return null;
    }
    if (!parsed) return null;
    return new Error(`the anchor contract refused: ${parsed.name}(${parsed.args.map(String).join(", ")})`, { cause: e });
  }

  private provider(): Provider {
    const provider = this.contract.runner?.provider;
    if (!provider) throw new Error("the anchor client has no provider");
    return provider;
  }

  /**
   * Every `Anchored` event of `logId` in chain order, read `step` blocks per
   * query (public RPC endpoints cap the range of one eth_getLogs), as they
   * are read: a log anchored every 30 s has a million a year, which an audit
   * need not hold as objects all at once.
   */
  streamAnchoredEvents(
    logId: string,
    fromBlock = 0,
    step = 10_000,
    onRange?: (done: number, total: number) => void,
  ): AsyncGenerator<AnchoredEvent> {
    return this.scanAnchored([logId], fromBlock, step, onRange);
  }

  /** The `Anchored` event that stored `size` of `logId`, looked for from `fromBlock` on; undefined if none. */
  async anchoredAt(logId: string, size: bigint, fromBlock = 0): Promise<AnchoredEvent | undefined> {
    for await (const e of this.scanAnchored([logId, size], fromBlock)) return e;
    return undefined;
  }

  private async *scanAnchored(
    topics: [string] | [string, bigint],
    fromBlock: number,
    step = 10_000,
    onRange?: (done: number, total: number) => void,
  ): AsyncGenerator<AnchoredEvent> {
    const head = await this.head();
    const filter = this.contract.filters.Anchored!(...topics);
    for (let from = fromBlock; from <= head; from += step) {
      const to = Math.min(head, from + step - 1);
      for (const raw of await this.contract.queryFilter(filter, from, to)) {
        const e = anchoredLog.parse({ ...raw, args: [...((raw as { args?: unknown[] }).args ?? [])] });
        yield {
          size: e.args[1],
          logRoot: e.args[2].toLowerCase(),
          mapRoot: e.args[3].toLowerCase(),
          blockNumber: e.blockNumber,
          txHash: e.transactionHash.toLowerCase(),
        };
      }
      onRange?.(to - fromBlock + 1, head - fromBlock + 1);
    }
  }

  /** The log's registered operator (the zero address for a log not registered). */
  async operatorOf(logId: string): Promise<string> {
    const [operator] = logInfoAnswer.parse([...(await this.contract.getFunction("logInfo")(logId))]);
    return operator;
  }
}
