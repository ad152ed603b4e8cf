/**
 * The anchoring worker. For each new checkpoint: record the anchor as pending,
 * send `anchor()` with the consistency proof from the chain's latest anchored
 * size, wait for the confirmations, record it as confirmed. A restart resumes
 * from the records and the chain, so a size is never anchored twice (and the
 * contract would refuse it anyway). While the RPC is down it backs off and
 * retries; the API keeps accepting events meanwhile.
 */
import type { Logger } from "pino";
import { toHex, toHex0x } from "../core/bytes.js";
import type { Checkpoint } from "../core/note/checkpoint.js";
import type { AnchorRecord, Ledger } from "../store/ledger.js";
import type { AnchorClient } from "./contract.js";

export interface AnchorerOptions {
  ledger: Ledger;
  logId: string;
  chainId: number;
  confirmations: number;
  /** How long to wait for a sent anchor before taking it as dropped (the next round re-sends). */
  txTimeoutSeconds?: number;
  intervalSeconds: number;
  log: Logger;
  /** Re-resolves the contract (redeploying when the chain lost it). */
  connect: () => Promise<AnchorClient>;
}

export class Anchorer {
  private client: AnchorClient | null = null;
  private timer: NodeJS.Timeout | null = null;
  private chain: Promise<unknown> = Promise.resolve();
  private failures = 0;
  private stopped = false;

  constructor(private readonly opts: AnchorerOptions) {}

  start(): void {
    this.schedule(0);
  }

  private schedule(delayMs: number): void {
    if (this.stopped) return;
    this.timer = setTimeout(() => {
      void this.anchorNow()
        .then(() => {
          this.failures = 0;
          this.schedule(this.opts.intervalSeconds * 1000);
        })
        .catch((e: unknown) => {
          this.failures++;
          this.client = null;
          const backoff = Math.min(60_000, 1000 * 2 ** Math.min(this.failures, 6));
          this.opts.log.warn({ err: e instanceof Error ? e.message : String(e), retryInMs: backoff }, "anchoring failed; retrying");
          this.schedule(backoff);
        });
    }, delayMs);
    this.timer.unref();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    await this.chain.catch(() => undefined);
  }

  /** Anchors the current checkpoint if the chain is behind; serialized. */
  anchorNow(): Promise<AnchorRecord | null> {
    const run = this.chain.catch(() => undefined).then(() => this.step());
    this.chain = run;
    return run;
  }

  private async step(): Promise<AnchorRecord | null> {
    const { ledger } = this.opts;
    this.client ??= await this.opts.connect();
    const client = this.client;
    const { checkpoint } = ledger.checkpoint;
    // Bundles will be made against this size once it is anchored: keep its
    // map at hand, now, while it is the newest. Let go again if this step
    // fails before sending: only a few views are kept, and failing steps
    // (an RPC down for a while) must not push out the anchored sizes' views.
    const newlyKept = !ledger.keepsMapView(checkpoint.size) && ledger.keepMapView(checkpoint.size);
    try {
      return await this.anchor(client, checkpoint);
    } catch (e) {
      if (newlyKept && !(e instanceof SentError)) ledger.releaseMapView(checkpoint.size);
      throw e;
    }
  }

  private async anchor(client: AnchorClient, checkpoint: Checkpoint): Promise<AnchorRecord | null> {
    const { ledger, logId, log } = this.opts;
    const onChain = await client.latest(logId);
    await this.settlePending(client);
    if (checkpoint.size === 0n || onChain.size >= checkpoint.size) return null;

    const proof: string[] = [];
    if (onChain.size > 0n) {
      const ours = toHex0x(await ledger.log.root(onChain.size));
      if (ours !== onChain.logRoot) {
        throw new Error(
          `the chain holds a different log root at size ${onChain.size}: this log forked or the data directory is not the anchored one`,
        );
      }
      for (const h of await ledger.log.consistencyProof(onChain.size, checkpoint.size)) proof.push(toHex0x(h));
    }
    const rec: AnchorRecord = {
      size: Number(checkpoint.size),
      logRoot: toHex(checkpoint.logRoot),
      mapRoot: toHex(checkpoint.mapRoot),
      chainId: this.opts.chainId,
      contract: client.address,
      txHash: null,
      blockNumber: null,
      status: "pending",
    };
    await ledger.putAnchor(rec);
    const tx = await client.sendAnchor(logId, checkpoint.size, toHex0x(checkpoint.logRoot), toHex0x(checkpoint.mapRoot), proof);
    // From here on the size may be anchored even if this step fails: its view stays.
    let receipt;
    try {
      rec.txHash = tx.hash;
      await ledger.putAnchor(rec);
      receipt = await tx.wait(this.opts.confirmations, (this.opts.txTimeoutSeconds ?? 300) * 1000);
    } catch (e) {
      throw new SentError(e);
    }
    rec.blockNumber = receipt.blockNumber;
    rec.status = "confirmed";
    await ledger.putAnchor(rec);
    log.info({ size: rec.size, txHash: rec.txHash, block: rec.blockNumber, gasUsed: receipt.gasUsed.toString() }, "anchored");
    return rec;
  }

  /** Pending records from before a crash: confirmed if the chain has them, dropped otherwise. */
  private async settlePending(client: AnchorClient): Promise<void> {
    const { ledger, logId } = this.opts;
    for (const rec of await ledger.anchors()) {
      if (rec.status !== "pending" || rec.contract !== client.address) continue;
      const at = await client.checkpointAt(logId, BigInt(rec.size));
      if (at.logRoot === `0x${rec.logRoot}`) {
        let blockNumber = rec.blockNumber;
        if (rec.txHash) {
          const r = await client.contract.runner!.provider!.getTransactionReceipt(rec.txHash);
          blockNumber = r?.blockNumber ?? null;
        }
        await ledger.putAnchor({ ...rec, status: "confirmed", blockNumber });
      } else {
        // Never mined (dropped or reverted): the next step anchors the current checkpoint instead.
        await ledger.deleteAnchor(rec.size);
      }
    }
  }
}

/** A failure after the anchor transaction was sent (it may still be mined). */
class SentError extends Error {
  constructor(cause: unknown) {
    super(cause instanceof Error ? cause.message : String(cause), { cause });
  }
}
