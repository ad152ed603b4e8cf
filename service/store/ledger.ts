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
import { ClassicLevel } from "classic-level";
import { bytesEqual, fromHex, fromUtf8, toHex, utf8 } from "../core/bytes.js";
import { codeLookupWith } from "../core/commitment.js";
import { hmacSha256 } from "../core/hash.js";
import type { KeyProofError } from "../core/errors.js";
import type { KeyState, Participant } from "../core/ledger/schema.js";
import { CompactRange } from "../core/log/compact-range.js";
import { nodeKey, type NodeId } from "../core/log/ranges.js";
import { EMPTY_SUBTREE } from "../core/map/hashing.js";
import type { MapProof } from "../core/map/proof.js";
import { parseCheckpoint, signCheckpoint, type Checkpoint } from "../core/note/checkpoint.js";
import { openNote, formatVerifierKey, type NoteSigner } from "../core/note/note.js";
import { fingerprintWith } from "./idempotency.js";
import { AnchorRecords } from "./anchor-records.js";
import { K } from "./keys.js";
import { readOne } from "./reads.js";
import { forgetReplays, markReplaysIndexed } from "./replay-expiry.js";
import { LogStore } from "./log-store.js";
import { decodeStateRecord, readOlderEventIndices } from "./state-record.js";
import { EventClock, type ClockBehind } from "./event-clock.js";
import { GroupCommit } from "./group-commit.js";
import {
  decodeKeyRef,
  GroupPreparer,
  type KeyRef,
  type LogHead,
  type PreparedGroup,
  type SubmitAnswer,
  type Submission,
} from "./group-prepare.js";
import { decodeMeta } from "./meta-record.js";
import { Participants } from "./participants.js";
import { MapStore, type Db } from "./map-store.js";
import { FullTiles } from "./full-tiles.js";
import { createNodeSigner } from "./node-signer.js";
import { openFailure } from "./storage-errors.js";
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

export class Ledger {
  readonly log: LogStore;
  readonly map: MapStore;
  readonly signer: NoteSigner;
  readonly verifierKey: string;
  readonly anchors: AnchorRecords;
  readonly tokens: TokenIndex;
  // Durable state, what readers see.
  private head!: LogHead;
  private readonly participants = new Participants();
  // The sequencer's state, ahead of the durable state by the batches being written.
  private preparer!: GroupPreparer;
  private readonly commits: GroupCommit<Submission, PreparedGroup, SubmitAnswer>;
  private closed = false;
  private readonly codeLookup: (code: string) => Uint8Array;
  /** Observers (metrics) of each durable group; `write` numbers the LevelDB write (one fsync) it went out in. */
  onBatch?: (info: { events: number; requests: number; ms: number; write: number }) => void;
  /** Observers (metrics) of each synced LevelDB write, by how long it took: a slow disk shows here first. */
  onWrite?: (ms: number) => void;

  private constructor(
    readonly db: Db,
    private readonly opts: LedgerOptions,
  ) {
    this.log = new LogStore(db);
    this.map = new MapStore(db, opts.mapCacheSize);
    this.anchors = new AnchorRecords(db);
    this.tokens = new TokenIndex(db);
    this.signer = createNodeSigner(opts.origin, opts.signingSeed);
    this.verifierKey = formatVerifierKey(this.signer);
    this.codeLookup = codeLookupWith(opts.pepper);
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
    const db: Db = new ClassicLevel<Uint8Array, Uint8Array>(path.resolve(opts.dir), {
      keyEncoding: "view",
      valueEncoding: "view",
      // Most of what is stored is hashes, which do not compress: save the CPU.
      // A larger memtable means fewer, larger level-0 files and less compaction
      // per event under a steady append load.
      compression: false,
      writeBufferSize: 64 * 1024 * 1024,
      // LevelDB maps its first 1,000 table files into memory and reads them
      // there, past this cache; it caches the blocks of the files beyond
      // those (past about 2.5M entries: 1M took 398 files), as proofs read them.
      cacheSize: 256 * 1024 * 1024,
    });
    try {
      await db.open();
    } catch (e) {
      throw openFailure(path.resolve(opts.dir), e);
    }
    const ledger = new Ledger(db, opts);
    try {
      await ledger.load();
    } catch (e) {
      // Refused (another key, a damaged directory): the directory is free for the next try.
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
        map: this.map,
        participants: this.participants,
        clock: new EventClock(meta.lastTime, now, this.opts.onClockBehind),
        now,
        codeMac: (code) => toHex(this.codeLookup(code)),
        fingerprint: fingerprintWith(this.opts.pepper),
      },
      this.head,
      await FullTiles.resume(size, (level, start, count) => this.log.levelHashes(level, start, count)),
    );
    this.map.captureView(size);
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

  get size(): bigint {
    return this.head.range.size;
  }

  get checkpoint(): { note: string; checkpoint: Checkpoint } {
    return this.head.latest;
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
    return this.commits.failure;
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
    this.map.settle(g.mapWrites);
    this.log.remember(g.logNodes);
    this.participants.publish(g.participants, g.participantEvents);
    this.preparer.settled(g);
    this.onBatch?.({ events: g.events, requests, ms: performance.now() - g.started, write });
  }

  /** Waits for queued batches, then closes the database. */
  async close(): Promise<void> {
    this.closed = true;
    await this.commits.idle();
    await this.map.closeViews();
    await this.db.close();
  }

  // ---- reads ----------------------------------------------------------------

  async checkpointAt(size: bigint): Promise<string | undefined> {
    const v = readOne(this.db, K.checkpoint(size));
    return v ? fromUtf8(v) : undefined;
  }

  async keyState(commitment: string): Promise<KeyState | null> {
    const v = readOne(this.db, K.state(fromHex(commitment, 32)));
    return v ? decodeStateRecord(v).state : null;
  }

  /** A key's state and the log indices of its events (oldest first), read together; null for an unknown key. */
  async keyRecord(commitment: string): Promise<{ state: KeyState; indices: bigint[] } | null> {
    const v = readOne(this.db, K.state(fromHex(commitment, 32)));
    if (!v) return null;
    const { state, indices } = decodeStateRecord(v);
    return { state, indices: indices ?? (await readOlderEventIndices(this.db, commitment)) };
  }

  /**
   * Keeps the map as of `size` (the newest checkpoint, or one kept before) at
   * hand, so that proofs at it, as bundles of an anchored checkpoint need, are
   * as fast as proofs at the newest. Call it when `size` is chosen for anchoring.
   */
  keepMapView(size: bigint): boolean {
    return this.map.pinView(size);
  }

  /** Whether the map as of `size` is kept (by `keepMapView`). */
  keepsMapView(size: bigint): boolean {
    return this.map.isPinned(size);
  }

  /** Lets go of a view kept for a size that will not be anchored after all. */
  releaseMapView(size: bigint): void {
    this.map.unpinView(size);
  }

  /**
   * A map proof for the key against the checkpoint of `size` (default: latest).
   * The store's size is read under the same snapshot as the nodes, so a batch
   * landing meanwhile cannot mix two map versions into one proof.
   */
  mapProof(commitment: string, size: bigint = this.size): Promise<MapProof> {
    return this.map.proveAt(fromHex(commitment, 32), size, async (snapshot) => {
      const raw = await this.db.get(K.meta, { snapshot });
      return BigInt(decodeMeta(raw).size);
    });
  }

  /** The private index: the key a code was issued as, if any. */
  async lookupCode(code: string): Promise<KeyRef | undefined> {
    const v = readOne(this.db, K.codeIndex(this.codeLookup(code)));
    return v ? decodeKeyRef(v) : undefined;
  }

  async entry(index: bigint): Promise<string> {
    const v = readOne(this.db, K.entry(index));
    if (!v) throw new Error(`entry ${index} is missing`);
    return fromUtf8(v);
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
