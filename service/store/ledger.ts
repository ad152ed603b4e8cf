/**
 * The KeyProof ledger on LevelDB: validates event requests against the state
 * machine, appends them to the log and the map, and signs a checkpoint — all
 * in ONE LevelDB batch per group of requests (group commit), so a crash keeps
 * either a whole batch or none of it. A single sequencer (group-commit.ts)
 * serializes writers; requests that arrive while a batch is being written
 * share the next batch. How a group becomes a batch is group-prepare.ts; the
 * ledger opens the store, publishes each durable group to readers, and
 * answers the reads.
 */
import { mkdirSync } from "node:fs";
import path from "node:path";
import { bytesEqual, fromUtf8, toHex, utf8 } from "../core/bytes.js";
import { hmacSha256 } from "../core/hash.js";
import type { KeyProofError } from "../core/errors.js";
import type { Participant } from "../core/ledger/schema.js";
import { CompactRange } from "../core/log/compact-range.js";
import { nodeKey, type NodeId } from "../core/log/ranges.js";
import { EMPTY_SUBTREE } from "../core/map/hashing.js";
import { parseCheckpoint, signCheckpoint, type Checkpoint } from "../core/note/checkpoint.js";
import { openNote, formatVerifierKey, type NoteSigner } from "../core/note/note.js";
import { fingerprintWith } from "./idempotency.js";
import { K } from "./keys.js";
import { forgetReplays, markReplaysIndexed } from "./replay-expiry.js";
import { EventClock, type ClockBehind } from "./event-clock.js";
import { GroupCommit } from "./group-commit.js";
import { GroupPreparer, type LogHead, type PreparedGroup, type SubmitAnswer, type Submission } from "./group-prepare.js";
import { decodeMeta } from "./meta-record.js";
import { Participants } from "./participants.js";
import type { Db } from "./map-store.js";
import { LedgerReads, type LatestCheckpoint, type LedgerUpdate } from "./ledger-reads.js";
import { MapThread } from "./map-thread.js";
import { InThreadMapUpdater, type MapUpdater } from "./map-updater.js";
import { openDb } from "./open-db.js";
import { FullTiles } from "./full-tiles.js";
import { createNodeSigner } from "./node-signer.js";
import { TokenIndex } from "./tokens.js";

export type { EventResult, Submission, SubmitAnswer } from "./group-prepare.js";

export interface LedgerOptions {
  dir: string;
  origin: string;
  signingSeed: Uint8Array;
  pepper: Uint8Array;
  now?: () => Date;
  /** Upper bound on events per group commit. */
  maxBatchEvents?: number;
  mapCacheSize?: number;
  /** Updates the map on a thread of its own (map-thread.ts), as the service does; on the ledger's thread otherwise. */
  mapThread?: boolean;
  /** The fewest queued requests prepared while a batch is written; fewer wait for it (group-commit.ts). */
  overlapRequests?: number;
  /**
   * Told when the clock reads earlier than the newest time recorded (by more
   * than a second), at most once a minute: events then keep that newest time
   * until the clock passes it (event-clock.ts).
   */
  onClockBehind?: ClockBehind;
}

/** What the pepper check value is an HMAC of (see `checkPepper`). */
const PEPPER_CHECK = "keyproof:v1:pepper-check";

export class Ledger extends LedgerReads {
  readonly signer: NoteSigner;
  readonly verifierKey: string;
  readonly tokens: TokenIndex;
  // Durable state, what readers see.
  private head!: LogHead;
  private readonly participants = new Participants();
  // The sequencer's state, ahead of the durable state by the batches being written.
  private preparer!: GroupPreparer;
  private readonly commits: GroupCommit<Submission, PreparedGroup, SubmitAnswer>;
  private mapUpdater!: MapUpdater;
  private closed = false;
  /** Replicas in other threads, told what changes what they read (`follow`). */
  private readonly followers = new Set<(u: LedgerUpdate) => void>();
  /** Observers (metrics) of each durable group; `write` numbers the LevelDB write (one fsync) it went out in. */
  onBatch?: (info: { events: number; requests: number; ms: number; write: number }) => void;
  /** Observers (metrics) of each synced LevelDB write, by how long it took: a slow disk shows here first. */
  onWrite?: (ms: number) => void;

  private constructor(
    db: Db,
    private readonly opts: LedgerOptions,
  ) {
    // With a map thread, this thread's store of the map only answers proofs, which read no node cache.
    super(db, opts.pepper, opts.mapThread ? 1 : opts.mapCacheSize);
    this.tokens = new TokenIndex(db);
    this.signer = createNodeSigner(opts.origin, opts.signingSeed);
    this.verifierKey = formatVerifierKey(this.signer);
    this.anchors.onChange = (change) => this.tell({ type: "anchor", change });
    this.commits = new GroupCommit(
      db,
      {
        requests: (sub) => sub.requests.length,
        prepare: (batch, subs) => this.preparer.prepareInto(batch, subs),
        written: (newest, ms) => {
          this.map.captureView(newest.latest.checkpoint.size);
          this.onWrite?.(ms);
        },
        publish: (group, info) => this.publish(group, info),
      },
      opts.maxBatchEvents ?? 20_000,
      opts.overlapRequests,
    );
  }

  static async open(opts: LedgerOptions): Promise<Ledger> {
    mkdirSync(opts.dir, { recursive: true });
    const db = await openDb(opts.dir, "writer");
    const ledger = new Ledger(db, opts);
    try {
      ledger.mapUpdater = opts.mapThread
        ? await MapThread.start(ledger.map, { dir: opts.dir, cacheSize: opts.mapCacheSize })
        : new InThreadMapUpdater(ledger.map);
      await ledger.load();
    } catch (e) {
      // Refused (another key, a damaged directory): the directory is free for the next try.
      await ledger.mapUpdater?.close().catch(() => undefined);
      await db.close().catch(() => undefined);
      throw e;
    }
    return ledger;
  }

  private async load(): Promise<void> {
    const meta = decodeMeta(await this.db.get(K.meta));
    const size = BigInt(meta.size);
    const border = CompactRange.borderOf(size);
    const nodes = await this.log.nodes(border);
    const hashOf = (id: NodeId): Uint8Array => nodes.get(nodeKey(id))!;
    const range = CompactRange.fromNodes(size, hashOf);
    // The border is what the proofs of the next leaves need from before the restart.
    this.log.remember(border.map((id) => ({ ...id, hash: hashOf(id) })));
    await this.participants.load(this.db, this.log, size);
    await this.checkPepper(size);
    await this.anchors.load();
    await markReplaysIndexed(this.db);
    const note = await this.db.get(K.checkpoint(size));
    let latest: LogHead["latest"];
    if (note) {
      const text = fromUtf8(note);
      let opened: string;
      try {
        opened = openNote(text, [this.signer]).text;
      } catch (e) {
        throw new Error(
          `the newest checkpoint in ${path.resolve(this.opts.dir)} (size ${size}) is not signed by the checkpoint key given (SIGNING_KEY, or DATA_DIR/secrets/checkpoint-ed25519.key): start with the key that signed this log, restored from a backup; its verifier key is the one published for the log, this key's is ${this.verifierKey}`,
          { cause: e },
        );
      }
      const checkpoint = parseCheckpoint(opened);
      if (checkpoint.origin !== this.opts.origin) {
        throw new Error(`data directory holds the log ${checkpoint.origin}, not ${this.opts.origin}`);
      }
      latest = { note: text, checkpoint };
    } else if (size === 0n) {
      // A fresh log: sign the empty checkpoint so that readers always have one.
      const checkpoint = { origin: this.opts.origin, size: 0n, logRoot: range.root(), mapRoot: EMPTY_SUBTREE };
      const text = signCheckpoint(checkpoint, this.signer);
      await this.db.put(K.checkpoint(0), utf8(text));
      latest = { note: text, checkpoint };
    } else {
      throw new Error(`checkpoint for size ${size} is missing: the data directory is damaged`);
    }
    if (range.size !== latest.checkpoint.size || !bytesEqual(range.root(), latest.checkpoint.logRoot)) {
      throw new Error("stored log does not match its latest checkpoint: the data directory is damaged");
    }
    this.head = { range, latest };
    const now = this.opts.now ?? ((): Date => new Date());
    this.preparer = new GroupPreparer(
      {
        db: this.db,
        origin: this.opts.origin,
        signer: this.signer,
        map: this.mapUpdater,
        participants: this.participants,
        clock: new EventClock(meta.lastTime, now, this.opts.onClockBehind),
        now,
        codeMac: (code) => toHex(this.codeLookup(code)),
        fingerprint: fingerprintWith(this.opts.pepper),
      },
      this.head,
      await FullTiles.resume(size, (level, start, count) => this.log.levelHashes(level, start, count)),
    );
    await this.map.openHistory(size);
    this.map.captureView(size);
    this.map.dropViewsBefore(size);
  }

  /**
   * Refuses a pepper other than the one the code index was built with: under
   * another, every code issued would look never issued (a genuine key
   * reported unknown to its buyer) and could be issued a second time. The
   * check value, an HMAC under the pepper, reveals nothing of it. A data
   * directory from before the check gets it now, taken on trust.
   */
  private async checkPepper(size: bigint): Promise<void> {
    const check = hmacSha256(this.opts.pepper, utf8(PEPPER_CHECK));
    const stored = await this.db.get(K.pepperCheck);
    if (stored === undefined) {
      await this.db.put(K.pepperCheck, check, { sync: true });
      return;
    }
    if (!bytesEqual(stored, check)) {
      throw new Error(
        `the pepper given (PEPPER, or DATA_DIR/secrets/pepper) is not the one the ${size} entries in ${path.resolve(this.opts.dir)} were recorded with: every code issued would look never issued, and could be issued again. Start with that pepper, restored from a backup`,
      );
    }
  }

  get checkpoint(): LatestCheckpoint {
    return this.head.latest;
  }

  /**
   * Tells `follower` from now on, in order, of every change to what the
   * ledger's readers see: a durable group's checkpoint, a map view kept or
   * let go, an anchor record written. A read replica follows it so. Returns
   * the way to stop.
   */
  follow(follower: (u: LedgerUpdate) => void): () => void {
    this.followers.add(follower);
    return () => this.followers.delete(follower);
  }

  private tell(u: LedgerUpdate): void {
    for (const f of this.followers) f(u);
  }

  participant(id: string): Participant | undefined {
    return this.participants.get(id);
  }

  /** The log index of a registered participant's registration event. */
  participantEvent(id: string): bigint | undefined {
    return this.participants.eventOf(id);
  }

  /**
   * Why the ledger stopped writing (a batch that could not be written: the
   * disk full or failing), or null while it writes. Reads go on; writes are
   * refused with it until the ledger is reopened.
   */
  get writeFailure(): KeyProofError | null {
    return this.commits.failure ?? this.mapUpdater.failure;
  }

  /** CPU seconds of the map's own thread (`mapThread`; Linux), null without one. */
  mapThreadCpuSeconds(): number | null {
    return this.mapUpdater.cpuSeconds?.() ?? null;
  }

  /** Appends; resolves once the batch holding these requests is durable (group-commit.ts). */
  submit(sub: Submission): Promise<SubmitAnswer> {
    if (this.closed) return Promise.reject(new Error("ledger is closed"));
    return this.commits.submit(sub);
  }

  /** Makes a durable group what readers see. */
  private publish(g: PreparedGroup, { requests, write }: { requests: number; write: number }): void {
    // Not the group itself: it holds the group's writes, which are LevelDB's now.
    this.head = { range: g.range, latest: g.latest };
    this.map.dropViewsBefore(g.latest.checkpoint.size);
    this.announce();
    this.tell({ type: "published", latest: g.latest });
    if (g.map) this.mapUpdater.settle(g.map);
    this.log.remember(g.logNodes);
    this.participants.publish(g.participants, g.participantEvents);
    this.preparer.settled(g);
    this.onBatch?.({ events: g.events, requests, ms: performance.now() - g.started, write });
  }

  /** Waits for queued batches, then closes the database. */
  async close(): Promise<void> {
    this.closed = true;
    await this.commits.idle();
    await this.mapUpdater.close();
    await this.map.closeViews();
    await this.db.close();
  }

  // ---- reads ----------------------------------------------------------------

  /**
   * Chooses the checkpoint to anchor: the newest one prepared, whose map's
   * history is kept from now on (durably, before this resolves), so that
   * bundles can be proved against it for as long as it is the newest anchor,
   * across restarts. Resolves once it is published. A map proof at a size
   * neither kept nor the newest is not possible (map-store.ts): the newest
   * published size may already have a group prepared after it, which did
   * not keep its history.
   */
  async checkpointToAnchor(): Promise<Checkpoint> {
    const { checkpoint } = this.preparer.newest;
    this.map.keepHistory(checkpoint.size);
    await this.db.put(K.mapKept(checkpoint.size), new Uint8Array(0), { sync: true });
    while (this.size < checkpoint.size) {
      if (this.commits.failure) throw this.commits.failure;
      if (this.closed) throw new Error("ledger is closed");
      await this.newerThan(this.size);
    }
    return checkpoint;
  }

  /**
   * Keeps the map as of `size` (the newest checkpoint, or one kept before) at
   * hand, so that proofs at it, as bundles of an anchored checkpoint need, are
   * as fast as proofs at the newest. Call it when `size` is chosen for anchoring.
   */
  keepMapView(size: bigint): boolean {
    const kept = this.map.pinView(size);
    if (kept) this.tell({ type: "pin", size });
    return kept;
  }

  /** Whether the map as of `size` is kept (by `keepMapView`). */
  keepsMapView(size: bigint): boolean {
    return this.map.isPinned(size);
  }

  /** Lets go of a view kept for a size that will not be anchored after all. */
  releaseMapView(size: bigint): void {
    this.map.unpinView(size);
    this.tell({ type: "unpin", size });
  }

  /**
   * Forgets the answers of Idempotency-Keys stored before `before`; returns
   * how many (replay-expiry.ts). A request that comes again after that is
   * taken as new, and the state machine refuses what it already did
   * (DUPLICATE_KEY, DOUBLE_SALE, ALREADY_REDEEMED...).
   */
  forgetReplaysBefore(before: Date): Promise<number> {
    return forgetReplays(this.db, before);
  }

  /** The participant an API token was issued to, if any. */
  async participantForToken(token: string): Promise<Participant | undefined> {
    const id = await this.tokens.participantId(token);
    return id === undefined ? undefined : this.participants.get(id);
  }
}
