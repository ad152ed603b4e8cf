/**
 * The KeyProof ledger on LevelDB: validates event requests against the state
 * machine, appends them to the log and the map, and signs a checkpoint — all
 * in ONE LevelDB batch per group of requests (group commit), so a crash keeps
 * either a whole batch or none of it. A single sequencer (group-commit.ts)
 * serializes writers; requests that arrive while a batch is being written
 * share the next batch.
 */
import { mkdirSync } from "node:fs";
import path from "node:path";
import { ClassicLevel } from "classic-level";
import { bytesEqual, concatBytes, fromHex, fromUtf8, readU64be, toHex, utf8 } from "../core/bytes.js";
import { codeLookupWith, keyCommitment, orderCommitment } from "../core/commitment.js";
import { hmacSha256 } from "../core/hash.js";
import { checkInput } from "../core/validate.js";
import { KeyProofError, type ErrorBody } from "../core/errors.js";
import { encodeEvent, stateRecord } from "../core/ledger/entry.js";
import { applyEvent, OverlayView, type LedgerView } from "../core/ledger/machine.js";
import { eventRequest, type EventRequest } from "../core/ledger/requests.js";
import type { KeyState, LedgerEvent, Participant } from "../core/ledger/schema.js";
import { CompactRange, type StoredNode } from "../core/log/compact-range.js";
import { leafHash } from "../core/log/hashing.js";
import { nodeKey, type NodeId } from "../core/log/ranges.js";
import { EMPTY_SUBTREE } from "../core/map/hashing.js";
import type { MapUpdate, MapWrite } from "../core/map/sparse-map.js";
import type { MapProof } from "../core/map/proof.js";
import { parseCheckpoint, signCheckpoint, type Checkpoint } from "../core/note/checkpoint.js";
import { openNote, formatVerifierKey, type NoteSigner } from "../core/note/note.js";
import { encodeReplay, encodeWholeReplay, fingerprintWith, idempotencyKeyReused, openReplay, type Replay } from "./idempotency.js";
import { AnchorRecords } from "./anchor-records.js";
import { K } from "./keys.js";
import { readManyAcrossPool, readOne } from "./reads.js";
import { forgetReplays, markReplaysIndexed, NO_VALUE } from "./replay-expiry.js";
import { LogStore } from "./log-store.js";
import { SaltPool } from "./salt-pool.js";
import { decodeStateRecord, encodeStateRecord } from "./state-record.js";
import { EventClock, type ClockBehind } from "./event-clock.js";
import { GroupCommit } from "./group-commit.js";
import { participantRecord, Participants } from "./participants.js";
import { MapStore, type ChainedBatch, type Db } from "./map-store.js";
import { createNodeSigner } from "./node-signer.js";
import { openFailure } from "./storage-errors.js";
import { TokenIndex } from "./tokens.js";

export interface LedgerOptions {
  dir: string;
  origin: string;
  signingSeed: Uint8Array;
  pepper: Uint8Array;
  now?: () => Date;
  /** Upper bound on events per group commit. */
  maxBatchEvents?: number;
  mapCacheSize?: number;
  /**
   * Told when the clock reads earlier than the newest time recorded (by more
   * than a second), at most once a minute: events then keep that newest time
   * until the clock passes it (event-clock.ts).
   */
  onClockBehind?: ClockBehind;
}

export type EventResult = { ok: true; index: number; key: string | null; leafHash: string } | { ok: false; error: ErrorBody };

export interface SubmitAnswer {
  results: EventResult[];
  checkpoint: string;
}

export interface Submission {
  actor: string;
  requests: unknown[];
  idempotencyKey?: string;
  /** For participant requests: the hash of the API token to bind to the new id, by request position. */
  tokenHashes?: (Uint8Array | undefined)[];
}

interface Meta {
  size: number;
  lastTime: string;
}

interface KeyRef {
  commitment: string;
  salt: Uint8Array;
}

/** A request validated once per batch, with the HMAC of its code (if any) computed once. */
interface PreparedRequest {
  req: EventRequest;
  mac?: string;
}

/** What a group knows about keys: code HMAC -> key, and key -> salt; grows as the group issues keys. */
interface KeyIndex {
  codes: Map<string, KeyRef>;
  salts: Map<string, Uint8Array>;
  /** The log indices of each loaded key's events, oldest first. */
  events: Map<string, bigint[]>;
  /** Keys whose events were read from the `v` records of an older version (state-record.ts). */
  older: Set<string>;
}

const ZERO_HEAD = "0".repeat(64);

/** The record kinds a group reads while it is prepared: idempotency answers, code index, states, salts. */
const STAGED_PREFIXES = new Set([..."diks"].map((c) => c.charCodeAt(0)));

function decodeMeta(raw: Uint8Array | undefined): Meta {
  return raw ? (JSON.parse(fromUtf8(raw)) as Meta) : { size: 0, lastTime: "1970-01-01T00:00:00.000Z" };
}

function latin1(key: Uint8Array): string {
  return String.fromCharCode.apply(null, key as unknown as number[]);
}

/** A group validated and applied on top of the sequencer's state, ready to be written. */
interface PreparedGroup {
  /** The entries this group put in `Ledger.staged`, removed again once it is durable. */
  staged: [string, Uint8Array][];
  range: CompactRange;
  latest: { note: string; checkpoint: Checkpoint };
  mapWrites: MapWrite[];
  /** The log nodes it completes, for the log's memory once durable. */
  logNodes: StoredNode[];
  participants: Map<string, Participant>;
  /** The log index of each participant's registration in the group. */
  participantEvents: Map<string, bigint>;
  /** By submission; an error refuses that submission as a whole (an Idempotency-Key reused for other events). */
  answers: (SubmitAnswer | KeyProofError)[];
  events: number;
  started: number;
}

/** What the pepper check value is an HMAC of (see `checkPepper`). */
const PEPPER_CHECK = "keyproof:v1:pepper-check";

function errorResult(e: unknown): EventResult {
  if (e instanceof KeyProofError) return { ok: false, error: e.toJSON() };
  throw e;
}

export class Ledger {
  readonly log: LogStore;
  readonly map: MapStore;
  readonly signer: NoteSigner;
  readonly verifierKey: string;
  readonly anchors: AnchorRecords;
  readonly tokens: TokenIndex;
  // Durable state, what readers see.
  private range!: CompactRange;
  private latest!: { note: string; checkpoint: Checkpoint };
  private readonly participants = new Participants();
  // The sequencer's state: ahead of the durable state by the batch being written.
  private work!: { range: CompactRange; latest: { note: string; checkpoint: Checkpoint } };
  private clock!: EventClock;
  /** Values written by batches not yet durable, for the reads the next batch makes (by latin1 key). */
  private readonly staged = new Map<string, Uint8Array>();
  private readonly commits: GroupCommit<Submission, PreparedGroup, SubmitAnswer>;
  private closed = false;
  private readonly now: () => Date;
  private readonly salts = new SaltPool();
  private readonly codeLookup: (code: string) => Uint8Array;
  private readonly fingerprint: (requests: unknown[]) => string;
  /** Observers (metrics) of each durable group; `write` numbers the LevelDB write (one fsync) it went out in. */
  onBatch?: (info: { events: number; requests: number; ms: number; write: number }) => void;

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
    this.now = opts.now ?? (() => new Date());
    this.codeLookup = codeLookupWith(opts.pepper);
    this.fingerprint = fingerprintWith(opts.pepper);
    this.commits = new GroupCommit(
      db,
      {
        requests: (sub) => sub.requests.length,
        prepare: (batch, subs) => this.prepareInto(batch, subs),
        written: (newest) => this.map.captureView(newest.latest.checkpoint.size),
        publish: (group, info) => this.publish(group, info),
      },
      opts.maxBatchEvents ?? 20_000,
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
    this.clock = new EventClock(meta.lastTime, this.now, this.opts.onClockBehind);
    const size = BigInt(meta.size);
    const border = CompactRange.borderOf(size);
    const nodes = await this.log.nodes(border);
    const hashOf = (id: NodeId): Uint8Array => nodes.get(nodeKey(id))!;
    this.range = CompactRange.fromNodes(size, hashOf);
    // The border is what the proofs of the next leaves need from before the restart.
    this.log.remember(border.map((id) => ({ ...id, hash: hashOf(id) })));
    await this.participants.load(this.db, this.log, size);
    await this.checkPepper(size);
    await this.anchors.load();
    await markReplaysIndexed(this.db);
    const note = await this.db.get(K.checkpoint(size));
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
      this.latest = { note: text, checkpoint };
    } else if (size === 0n) {
      // A fresh log: sign the empty checkpoint so that readers always have one.
      const checkpoint = { origin: this.opts.origin, size: 0n, logRoot: this.range.root(), mapRoot: EMPTY_SUBTREE };
      const text = signCheckpoint(checkpoint, this.signer);
      await this.db.put(K.checkpoint(0), utf8(text));
      this.latest = { note: text, checkpoint };
    } else {
      throw new Error(`checkpoint for size ${size} is missing: the data directory is damaged`);
    }
    if (this.range.size !== this.latest.checkpoint.size || toHex(this.range.root()) !== toHex(this.latest.checkpoint.logRoot)) {
      throw new Error("stored log does not match its latest checkpoint: the data directory is damaged");
    }
    this.work = { range: this.range, latest: this.latest };
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
    return this.range.size;
  }

  get checkpoint(): { note: string; checkpoint: Checkpoint } {
    return this.latest;
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
    this.range = g.range;
    this.latest = g.latest;
    this.map.settle(g.mapWrites);
    this.log.remember(g.logNodes);
    this.participants.publish(g.participants, g.participantEvents);
    for (const [k, v] of g.staged) if (this.staged.get(k) === v) this.staged.delete(k);
    this.onBatch?.({ events: g.events, requests, ms: performance.now() - g.started, write });
  }

  /** Waits for queued batches, then closes the database. */
  async close(): Promise<void> {
    this.closed = true;
    await this.commits.idle();
    await this.map.closeViews();
    await this.db.close();
  }

  /**
   * Validates and applies a group on top of the sequencer's state and adds
   * its writes to `batch`. Stages what the next group must see; nothing is
   * durable or visible to readers until `publish`.
   */
  private async prepareInto(batch: ChainedBatch, subs: Submission[]): Promise<PreparedGroup> {
    const started = performance.now();
    const answers: (SubmitAnswer | KeyProofError | undefined)[] = new Array(subs.length);
    // Idempotent replays: answered from the stored first answer, appending nothing.
    const idemKeys = subs.map((s) => (s.idempotencyKey ? K.idempotency(s.actor, s.idempotencyKey) : undefined));
    const fingerprints = subs.map((s) => (s.idempotencyKey ? this.fingerprint(s.requests) : ""));
    const replays = await this.replays(idemKeys, fingerprints);
    const inGroup = new Map<string, number>();
    const live: number[] = [];
    subs.forEach((_, i) => {
      const k = idemKeys[i];
      if (k) {
        const replay = replays.get(i);
        if (replay) {
          answers[i] = replay;
          return;
        }
        const ks = toHex(k);
        if (inGroup.has(ks)) return; // answered below with the twin's answer
        inGroup.set(ks, i);
      }
      live.push(i);
    });

    const range = this.work.range.clone();
    // Straight into the native batch: an array of op objects kept every
    // event's keys and values alive on the JS heap until the write.
    const staged: [string, Uint8Array][] = [];
    const put = (key: Uint8Array, value: Uint8Array): void => {
      batch.put(key, value);
      if (STAGED_PREFIXES.has(key[0]!)) staged.push([latin1(key), value]);
    };
    // Validate each request and HMAC its code once; failures become that request's result.
    const prepared = new Map<number, (PreparedRequest | KeyProofError)[]>();
    for (const i of live)
      prepared.set(
        i,
        subs[i]!.requests.map((raw) => this.prepareRequest(raw)),
      );
    const { view, index: keys } = await this.loadView([...prepared.values()].flat());
    const overlay = new OverlayView(view);
    // Each touched key's newest state and its events' indices: its record is written once a batch.
    const touched = new Map<string, { state: KeyState; events: bigint[] }>();
    const logNodes: StoredNode[] = [];
    const participantEvents = new Map<string, bigint>();
    const baseSize = range.size;

    for (const i of live) {
      const sub = subs[i]!;
      const results: EventResult[] = [];
      prepared.get(i)!.forEach((p, r) => {
        try {
          if (p instanceof KeyProofError) throw p;
          const { req, mac } = p;
          const ref = this.resolveKey(p, overlay, keys);
          const event = this.buildEvent(sub.actor, req, ref, overlay);
          const entry = encodeEvent(event);
          const leaf = leafHash(utf8(entry));
          const index = range.size;
          const effect = applyEvent(overlay, event, toHex(leaf), Number(index));
          overlay.apply(effect);
          for (const n of range.append(leaf)) {
            put(K.node(n.level, n.index), n.hash);
            logNodes.push(n);
          }
          put(K.entry(index), utf8(entry));
          if (effect.kind === "participant") {
            put(K.participant(effect.participant.id), participantRecord(effect.participant, index));
            participantEvents.set(effect.participant.id, index);
            const tokenHash = sub.tokenHashes?.[r];
            if (tokenHash) put(K.token(tokenHash), utf8(effect.participant.id));
          } else {
            const c = fromHex(effect.key, 32);
            const t = touched.get(effect.key);
            if (t) {
              t.state = effect.state;
              t.events.push(index);
            } else touched.set(effect.key, { state: effect.state, events: [...(keys.events.get(effect.key) ?? []), index] });
            if (req.type === "issue" && ref && mac) {
              put(K.salt(c), ref.salt);
              put(K.codeIndex(fromHex(mac, 32)), concatBytes(c, ref.salt));
              keys.codes.set(mac, ref);
              keys.salts.set(ref.commitment, ref.salt);
            }
          }
          results.push({ ok: true, index: Number(index), key: effect.kind === "key" ? effect.key : null, leafHash: toHex(leaf) });
        } catch (e) {
          results.push(errorResult(e));
        }
      });
      answers[i] = { results, checkpoint: "" };
    }

    const accepted = range.size - baseSize;
    let latest = this.work.latest;
    let mapWrites: MapWrite[] = [];
    if (accepted > 0n) {
      const updates: MapUpdate[] = [];
      for (const [hex, { state, events }] of touched) {
        const key = fromHex(hex, 32);
        const record = stateRecord(state);
        put(K.state(key), encodeStateRecord(record.bytes, events));
        // The list is whole in the record now: an older version's records of it go in the same write.
        if (keys.older.has(hex)) for (const i of keys.events.get(hex)!) batch.del(K.keyEvent(key, i));
        updates.push({ key, stateHash: record.hash });
      }
      const prepared = await this.map.prepare(updates);
      mapWrites = prepared.writes;
      this.map.addOps(batch, prepared.writes, range.size);
      const checkpoint: Checkpoint = { origin: this.opts.origin, size: range.size, logRoot: range.root(), mapRoot: prepared.root };
      const note = signCheckpoint(checkpoint, this.signer);
      put(K.checkpoint(range.size), utf8(note));
      latest = { note, checkpoint };
      put(K.meta, utf8(JSON.stringify({ size: Number(range.size), lastTime: this.clock.newestTime })));
    }
    for (const i of live) (answers[i] as SubmitAnswer).checkpoint = latest.note;
    subs.forEach((_, i) => {
      const k = idemKeys[i];
      if (!k || answers[i]) return;
      const twin = inGroup.get(toHex(k))!;
      answers[i] = fingerprints[i] === fingerprints[twin] ? answers[twin] : idempotencyKeyReused();
    });
    const storedAt = idemKeys.some((k) => k !== undefined) ? this.now().toISOString() : "";
    for (const i of live) {
      const k = idemKeys[i];
      if (!k) continue;
      const answer = answers[i] as SubmitAnswer;
      batch.put(k, encodeReplay(fingerprints[i]!, storedAt, answer, Number(latest.checkpoint.size)));
      batch.put(K.idempotencyExpiry(storedAt, k), NO_VALUE);
      staged.push([latin1(k), encodeWholeReplay(fingerprints[i]!, storedAt, answer)]);
    }

    // Stage for the next group; publish for readers only once durable.
    this.work = { range, latest };
    this.map.stage(mapWrites);
    this.participants.stage(overlay.participants);
    for (const [k, v] of staged) this.staged.set(k, v);
    return {
      staged,
      range,
      latest,
      mapWrites,
      logNodes,
      participants: overlay.participants,
      participantEvents,
      answers: answers as (SubmitAnswer | KeyProofError)[],
      events: Number(accepted),
      started,
    };
  }

  /**
   * The stored answers of the submissions whose Idempotency-Key has one (by
   * submission), rebuilt from the records they refer to in one more read;
   * the reuse error where the events differ.
   */
  private async replays(idemKeys: (Uint8Array | undefined)[], fingerprints: string[]): Promise<Map<number, SubmitAnswer | KeyProofError>> {
    const withKey = [...idemKeys.keys()].filter((i) => idemKeys[i]);
    const out = new Map<number, SubmitAnswer | KeyProofError>();
    if (withKey.length === 0) return out;
    const stored = await this.readMany(withKey.map((i) => idemKeys[i]!));
    const rebuild: { i: number; replay: Replay; from: number }[] = [];
    const reads: Uint8Array[] = [];
    stored.forEach((v, j) => {
      if (!v) return;
      const i = withKey[j]!;
      const replay = openReplay(v);
      if (replay.request !== undefined && replay.request !== fingerprints[i]) {
        out.set(i, idempotencyKeyReused());
        return;
      }
      rebuild.push({ i, replay, from: reads.length });
      for (const k of replay.reads) reads.push(k);
    });
    const got = reads.length > 0 ? await this.readMany(reads) : [];
    for (const { i, replay, from } of rebuild) out.set(i, replay.answer(got.slice(from, from + replay.reads.length)));
    return out;
  }

  /**
   * getMany that sees the batches not yet durable. Always off the thread
   * (not reads.ts): while a group's reads are out, the requests that arrive
   * meanwhile reach the queue and form the next group; read synchronously,
   * every single-event request became its own group, with its own signature
   * and map root (docs/figures.md, 2026-12-02 night).
   */
  private async readMany(keys: Uint8Array[]): Promise<(Uint8Array | undefined)[]> {
    if (this.staged.size === 0) return readManyAcrossPool(this.db, keys);
    const out: (Uint8Array | undefined)[] = keys.map((k) => this.staged.get(latin1(k)));
    const missing = keys.filter((_, i) => out[i] === undefined);
    if (missing.length > 0) {
      const got = await readManyAcrossPool(this.db, missing);
      let j = 0;
      out.forEach((v, i) => {
        if (v === undefined) out[i] = got[j++];
      });
    }
    return out;
  }

  private codeMac(code: string): string {
    return toHex(this.codeLookup(code));
  }

  private prepareRequest(raw: unknown): PreparedRequest | KeyProofError {
    try {
      const req = checkInput(eventRequest, raw);
      // codeMac normalizes the code, so a malformed code is reported here.
      return req.type !== "participant" && req.code !== undefined ? { req, mac: this.codeMac(req.code) } : { req };
    } catch (e) {
      if (e instanceof KeyProofError) return e;
      throw e;
    }
  }

  /** Preloads the code index entries, key states and salts a group needs, in one read each. */
  private async loadView(requests: (PreparedRequest | KeyProofError)[]): Promise<{ view: LedgerView; index: KeyIndex }> {
    const macs = new Set<string>();
    const keys = new Set<string>();
    for (const p of requests) {
      if (p instanceof KeyProofError) continue;
      if (p.mac) macs.add(p.mac);
      if (p.req.type !== "participant" && p.req.type !== "issue" && p.req.key !== undefined) keys.add(p.req.key);
    }
    const macList = [...macs];
    const found = await this.readMany(macList.map((m) => K.codeIndex(fromHex(m, 32))));
    const index: KeyIndex = { codes: new Map(), salts: new Map(), events: new Map(), older: new Set() };
    macList.forEach((m, i) => {
      const v = found[i];
      if (v) {
        const ref = { commitment: toHex(v.slice(0, 32)), salt: v.slice(32, 64) };
        index.codes.set(m, ref);
        keys.add(ref.commitment);
      }
    });
    const keyList = [...keys];
    const [states, salts] = await Promise.all([
      this.readMany(keyList.map((k) => K.state(fromHex(k, 32)))),
      this.readMany(keyList.map((k) => K.salt(fromHex(k, 32)))),
    ]);
    const stateMap = new Map<string, KeyState>();
    const older: Promise<void>[] = [];
    keyList.forEach((k, i) => {
      const s = states[i];
      if (s) {
        const record = decodeStateRecord(s);
        stateMap.set(k, record.state);
        if (record.indices) index.events.set(k, record.indices);
        else {
          index.older.add(k);
          older.push(this.olderEventIndices(k).then((found) => void index.events.set(k, found)));
        }
      }
      const salt = salts[i];
      if (salt) index.salts.set(k, salt);
    });
    await Promise.all(older);
    return { view: { participant: (id) => this.participants.working(id), keyState: (k) => stateMap.get(k) }, index };
  }

  private resolveKey({ req, mac }: PreparedRequest, overlay: LedgerView, keys: KeyIndex): KeyRef | undefined {
    if (req.type === "participant") return undefined;
    if (req.type === "issue") {
      if (keys.codes.has(mac!)) throw new KeyProofError("DUPLICATE_KEY", "this code was already issued");
      const salt = this.salts.next();
      return { commitment: keyCommitment(salt, req.code), salt };
    }
    if (mac !== undefined) {
      const ref = keys.codes.get(mac);
      if (!ref) throw new KeyProofError("UNKNOWN_KEY", "no key with this code was issued");
      return ref;
    }
    const commitment = req.key!;
    const salt = keys.salts.get(commitment);
    if (!salt || !overlay.keyState(commitment)) throw new KeyProofError("UNKNOWN_KEY", "no key with this commitment was issued");
    return { commitment, salt };
  }

  private buildEvent(actor: string, req: EventRequest, ref: KeyRef | undefined, view: LedgerView): LedgerEvent {
    const time = this.clock.next();
    const base = { v: 1 as const, actor, time };
    if (req.type === "participant") {
      return { ...base, type: "participant", attrs: { id: req.id, role: req.role, name: req.name } };
    }
    const key = ref!.commitment;
    if (req.type === "issue") {
      const attrs = {
        sku: req.sku,
        ...(req.batch !== undefined ? { batch: req.batch } : {}),
        ...(req.expires !== undefined ? { expires: req.expires } : {}),
        ...(req.face !== undefined ? { face: req.face } : {}),
      };
      return { ...base, type: "issue", key, prev: null, attrs };
    }
    const prev = view.keyState(key)?.head ?? ZERO_HEAD;
    switch (req.type) {
      case "transfer":
        return { ...base, type: "transfer", key, prev, attrs: { to: req.to } };
      case "sell":
        return { ...base, type: "sell", key, prev, attrs: { order: orderCommitment(ref!.salt, req.order) } };
      case "redeem":
        return { ...base, type: "redeem", key, prev, attrs: {} };
      case "void":
        return { ...base, type: "void", key, prev, attrs: { reason: req.reason } };
    }
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
    return { state, indices: indices ?? (await this.olderEventIndices(commitment)) };
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
    const v = readOne(this.db, K.codeIndex(fromHex(this.codeMac(code), 32)));
    return v ? { commitment: toHex(v.slice(0, 32)), salt: v.slice(32, 64) } : undefined;
  }

  /**
   * A key's event indices as a version before kept them, one record each
   * (state-record.ts): read for a key whose state record has none, until its
   * next event writes them there.
   */
  private async olderEventIndices(commitment: string): Promise<bigint[]> {
    const keys = await this.db.keys(K.keyEventRange(fromHex(commitment, 32))).all();
    return keys.map((k) => readU64be(k, 33));
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
