/**
 * The anchoring worker. For each new checkpoint: record the anchor as pending,
 * send `anchor()` with the consistency proof from the chain's latest anchored
 * size, wait for the confirmations, record it as confirmed. A restart resumes
 * from the records and the chain, so a size is never anchored twice (and the
 * contract would refuse it anyway). A send that waits in the mempool past
 * its timeout is sent again with higher fees in its place. While the RPC is
 * down it backs off and retries; the API keeps accepting events meanwhile.
 * docs/protocol-choices.md, "Anchoring faults".
 */
import type { Logger } from "pino";
import { fromHex, toHex, toHex0x } from "../core/bytes.js";
import { messageOf } from "../core/errors.js";
import type { Checkpoint } from "../core/note/checkpoint.js";
import type { AnchorRecord } from "../store/anchor-records.js";
import type { Ledger } from "../store/ledger.js";
import type { AnchorClient, AnchoredEvent, SendOptions, Waiting } from "./contract.js";
import { raisedFees, underCeiling } from "./fees.js";
import { errorText } from "./redact.js";

/**
 * How deep below the chain's head a confirmed anchor's block is read again:
 * a reorganisation within it may mine the anchor's transaction again in
 * another block. Ethereum finalises a block in two epochs, 64 blocks.
 */
export const REORG_DEPTH = 64;
/** The most confirmed anchors, the newest, read again in one round. */
export const REORG_ANCHORS = 8;

export interface AnchorerOptions {
  ledger: Ledger;
  logId: string;
  chainId: number;
  confirmations: number;
  /** How long to wait for a sent anchor; the next round sends it again with higher fees, or anew if the node dropped it. */
  txTimeoutSeconds?: number;
  intervalSeconds: number;
  /** The highest fee per gas (wei) an anchor may offer, first sends and raises alike; none if unset. */
  maxFeePerGas?: bigint;
  log: Logger;
  /** Re-resolves the contract (redeploying when the chain lost it). */
  connect: () => Promise<AnchorClient>;
  /** A client already connected (at start-up): the first round uses it instead of connecting again. */
  client?: AnchorClient;
}

export class Anchorer {
  private client: AnchorClient | null;
  private timer: NodeJS.Timeout | null = null;
  private chain: Promise<unknown> = Promise.resolve();
  private failures = 0;
  private stopped = false;

  constructor(private readonly opts: AnchorerOptions) {
    this.client = opts.client ?? null;
  }

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
          this.opts.log.warn({ err: errorText(e), retryInMs: backoff }, "anchoring failed; retrying");
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
    this.client ??= await this.opts.connect();
    return this.anchor(this.client);
  }

  /**
   * The checkpoint to anchor next: the ledger keeps its map's history from
   * now on (`Ledger.checkpointToAnchor`), since bundles will be made against
   * it once it is anchored, and its map view at hand while it is the newest.
   * `release` lets go of the view again if the step fails before sending:
   * only a few views are kept, and failing steps (an RPC down for a while)
   * must not push out the anchored sizes' views.
   */
  private async choose(): Promise<{ checkpoint: Checkpoint; release: () => void }> {
    const { ledger } = this.opts;
    const checkpoint = await ledger.checkpointToAnchor();
    const newlyKept = !ledger.keepsMapView(checkpoint.size) && ledger.keepMapView(checkpoint.size);
    return { checkpoint, release: () => newlyKept && ledger.releaseMapView(checkpoint.size) };
  }

  private async anchor(client: AnchorClient): Promise<AnchorRecord | null> {
    const { ledger, logId } = this.opts;
    const onChain = await client.latest(logId);
    // Only this log's own checkpoints are anchored, so a chain ahead of it
    // anchored entries this directory lost: it is an older copy.
    if (onChain.size > ledger.size) {
      throw new Error(
        `the chain holds this log at size ${onChain.size}, beyond the ${ledger.size} entries here: this data directory is older than the log the chain anchored (restored from a copy?), and the events it records now fork from it`,
      );
    }
    const stuck = await this.reconcile(client, onChain);
    // A send still waiting is sent again as it was, with higher fees (the
    // current checkpoint follows in the next round). Otherwise a new
    // checkpoint is chosen only once the chain is known to be behind it.
    if (!stuck && ledger.size <= onChain.size) return null;
    const chosen = stuck
      ? {
          checkpoint: {
            ...ledger.checkpoint.checkpoint,
            size: BigInt(stuck.rec.size),
            logRoot: fromHex(stuck.rec.logRoot, 32),
            mapRoot: fromHex(stuck.rec.mapRoot, 32),
          },
          release: () => undefined,
        }
      : await this.choose();
    try {
      return await this.send(client, onChain, chosen.checkpoint, stuck);
    } catch (e) {
      if (!(e instanceof SentError)) chosen.release();
      throw e;
    }
  }

  private async send(
    client: AnchorClient,
    onChain: { size: bigint; logRoot: string; mapRoot: string },
    checkpoint: Checkpoint,
    stuck: { rec: AnchorRecord; tx: Waiting } | null,
  ): Promise<AnchorRecord | null> {
    const { ledger, logId, log } = this.opts;
    if (checkpoint.size === 0n || onChain.size >= checkpoint.size) return null;
    const ceiling = this.opts.maxFeePerGas;
    let send: SendOptions = {};
    if (stuck) {
      const fees = raisedFees(stuck.tx.fees, await client.fees(), ceiling);
      if (!fees) {
        log.warn(
          { size: stuck.rec.size, txHash: stuck.rec.txHash },
          "anchor transaction waits in the mempool at the fee ceiling (ANCHOR_MAX_FEE_GWEI)",
        );
        return null;
      }
      send = { nonce: stuck.tx.nonce, gasLimit: stuck.tx.gasLimit, fees };
    } else if (ceiling !== undefined) {
      send = { fees: underCeiling(await client.fees(), ceiling) };
    }

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
      // Until the copy is out, the transaction in flight is the waiting one.
      txHash: stuck?.rec.txHash ?? null,
      blockNumber: null,
      status: "pending",
    };
    await ledger.anchors.put(rec);
    const tx = await client.sendAnchor(logId, checkpoint.size, toHex0x(checkpoint.logRoot), toHex0x(checkpoint.mapRoot), proof, send);
    // From here on the size may be anchored even if this step fails: its view stays.
    let receipt;
    try {
      rec.txHash = tx.hash;
      await ledger.anchors.put(rec);
      if (stuck)
        log.warn({ size: rec.size, replaced: stuck.rec.txHash, txHash: tx.hash }, "anchor transaction sent again with higher fees");
      receipt = await tx.wait(this.opts.confirmations, (this.opts.txTimeoutSeconds ?? 300) * 1000);
    } catch (e) {
      throw new SentError(e);
    }
    rec.blockNumber = receipt.blockNumber;
    rec.status = "confirmed";
    await ledger.anchors.put(rec);
    log.info({ size: rec.size, txHash: rec.txHash, block: rec.blockNumber, gasUsed: receipt.gasUsed.toString() }, "anchored");
    return rec;
  }

  /**
   * Brings the records in line with the chain before anything is sent. A
   * pending record (a crash, or a send that timed out) is confirmed if the
   * chain holds its size; kept, and returned, if the node still holds its
   * transaction unmined (the next send replaces it, with the same nonce:
   * a new nonce would queue behind it and revert once both are mined);
   * dropped otherwise. A confirmed record names the transaction of the
   * chain's `Anchored` event for its size, not the last one sent: a send taken
   * for dropped may still be mined, and then the record names a later send
   * that failed, or none. For the same reason the chain's latest anchor is
   * recorded when no record has it.
   */
  private async reconcile(
    client: AnchorClient,
    onChain: { size: bigint; logRoot: string; mapRoot: string },
  ): Promise<{ rec: AnchorRecord; tx: Waiting } | null> {
    const { ledger, logId } = this.opts;
    await forgetUnheldAnchors(this.opts, client);
    await this.followMoves(client);
    let stuck: { rec: AnchorRecord; tx: Waiting } | null = null;
    for (const rec of ledger.anchors.pending(client.address)) {
      const at = await client.checkpointAt(logId, BigInt(rec.size));
      if (at.logRoot === `0x${rec.logRoot}`) {
        const event = await this.eventOf(client, rec.size);
        await ledger.anchors.put({ ...rec, status: "confirmed", txHash: event.txHash, blockNumber: event.blockNumber });
        continue;
      }
      // (One below the chain's latest could only revert.)
      const tx: Waiting | null = rec.txHash && !stuck && BigInt(rec.size) > onChain.size ? await client.waiting(rec.txHash) : null;
      if (tx) stuck = { rec, tx };
      else await ledger.anchors.remove(rec.size);
    }
    const size = Number(onChain.size);
    if (size === 0 || onChain.size > ledger.size || ledger.anchors.get(size, client.address)) return stuck;
    // Only our own history is recorded (a forked one is refused by the caller).
    if (toHex0x(await ledger.log.root(onChain.size)) !== onChain.logRoot) return stuck;
    const event = await this.eventOf(client, size);
    await ledger.anchors.put({
      size,
      logRoot: onChain.logRoot.slice(2),
      mapRoot: onChain.mapRoot.slice(2),
      chainId: this.opts.chainId,
      contract: client.address,
      txHash: event.txHash,
      blockNumber: event.blockNumber,
      status: "confirmed",
    });
    return stuck;
  }

  /**
   * Moves the records of the newest confirmed anchors to the block the chain
   * now has their transactions in. A reorganisation mines the same signed
   * transaction (the same hash) again in another block; the record would
   * go on naming the block without it, and every bundle made from it would
   * point a reader, and the verifier, at that block. An anchor the chain lost
   * with its roots is forgetUnheldAnchors' to drop.
   */
  private async followMoves(client: AnchorClient): Promise<void> {
    const { ledger, log } = this.opts;
    let rec = ledger.anchors.confirmedEnds(client.address).newest;
    if (!rec) return;
    const head = await client.head();
    for (let n = 0; rec && n < REORG_ANCHORS; n++) {
      if (rec.txHash === null || rec.blockNumber === null || rec.blockNumber < head - REORG_DEPTH) break;
      const minedIn = await client.minedIn(rec.txHash);
      if (minedIn !== null && minedIn !== rec.blockNumber) {
        await ledger.anchors.put({ ...rec, blockNumber: minedIn });
        log.warn(
          { size: rec.size, txHash: rec.txHash, from: rec.blockNumber, to: minedIn },
          "a chain reorganisation moved an anchor's transaction to another block: its record follows it",
        );
      }
      rec = ledger.anchors.newestConfirmed(client.address, 0, rec.size - 1);
    }
  }

  /** The chain's `Anchored` event for `size`, searched from the block of the newest confirmed anchor below it (they are mined in order). */
  private async eventOf(client: AnchorClient, size: number): Promise<AnchoredEvent> {
    const below = this.opts.ledger.anchors.newestConfirmed(client.address, 0, size - 1);
    const event = await client.anchoredAt(this.opts.logId, BigInt(size), below?.blockNumber ?? 0);
    if (!event) throw new Error(`the chain holds size ${size} but its RPC returned no Anchored event for it`);
    return event;
  }
}

/**
 * Drops the confirmed anchor records of `client`'s contract that the chain no
 * longer holds. A chain that lost its history under the same contract
 * address (a reset chain on which the contract was deployed again, by the
 * same key at the same nonce, by the service itself or before it looked)
 * would otherwise have bundles cite anchors that are not there, and the
 * search for a later anchor's event start past the chain's head. A reset
 * loses every anchor before it, the oldest first, and the ones made since
 * are newer than any lost: checking the oldest and the newest record (two
 * calls) finds any, and only then is every record checked. A reorganisation
 * that drops an anchor (not mined again) drops the newest: found the same way. Called at
 * start-up, before bundles are served, and in each anchoring round.
 */
export async function forgetUnheldAnchors(o: Pick<AnchorerOptions, "ledger" | "logId" | "log">, client: AnchorClient): Promise<void> {
  const { ledger, logId, log } = o;
  const holds = async (r: AnchorRecord) => (await client.checkpointAt(logId, BigInt(r.size))).logRoot === `0x${r.logRoot}`;
  const { oldest, newest } = ledger.anchors.confirmedEnds(client.address);
  if (!oldest || !newest || ((await holds(newest)) && (oldest.size === newest.size || (await holds(oldest))))) return;
  const confirmed: AnchorRecord[] = [];
  for await (const r of ledger.anchors.records()) if (r.contract === client.address && r.status === "confirmed") confirmed.push(r);
  const gone: number[] = [];
  for (const r of confirmed) {
    if (await holds(r)) continue;
    await ledger.anchors.remove(r.size);
    gone.push(r.size);
  }
  log.error(
    { contract: client.address, sizes: gone },
    "THE CHAIN NO LONGER HOLDS THESE ANCHORS (a chain reset, or a reorganisation that dropped them): forgotten, anchoring anew",
  );
}

/** A failure after the anchor transaction was sent (it may still be mined). */
class SentError extends Error {
  constructor(cause: unknown) {
    super(messageOf(cause), { cause });
  }
}
