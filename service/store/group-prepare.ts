/**
 * The prepare stage of the ledger's group commit (group-commit.ts): validates
 * a group of submissions against the state machine on top of every group
 * prepared before it, appends its events to a working copy of the log's
 * compact range, updates the map, signs the new checkpoint, and puts all of
 * it into the group's LevelDB batch. In two steps: the next group is
 * prepared on top of this one's events while its map is updated (on the
 * map's thread, map-thread.ts) and its checkpoint signed. It keeps the
 * sequencer's working state, ahead of the durable state by the batches
 * being written: the range and checkpoint the next group builds on, and the
 * records written by batches not yet durable that the next group's reads
 * must see. The ledger publishes a group to readers once its batch is
 * durable, and then calls `settled`.
 */
import { fromHex, toHex, utf8 } from "../core/bytes.js";
import { keyCommitment, orderCommitment } from "../core/commitment.js";
import { KeyProofError, type ErrorBody } from "../core/errors.js";
import { encodeEvent, stateRecord } from "../core/ledger/entry.js";
import { applyEvent, OverlayView, type LedgerView } from "../core/ledger/machine.js";
import { eventRequest, type EventRequest } from "../core/ledger/requests.js";
import type { KeyState, LedgerEvent, Participant } from "../core/ledger/schema.js";
import type { CompactRange, StoredNode } from "../core/log/compact-range.js";
import { leafHash } from "../core/log/hashing.js";
import type { MapUpdate } from "../core/map/sparse-map.js";
import { signCheckpoint, type Checkpoint } from "../core/note/checkpoint.js";
import type { NoteSigner } from "../core/note/note.js";
import { checkInput } from "../core/validate.js";
import type { EventClock } from "./event-clock.js";
import { encodeReplay, encodeWholeReplay, idempotencyKeyReused, openReplay, type Replay } from "./idempotency.js";
import { carve, K } from "./keys.js";
import type { ChainedBatch, Db } from "./map-store.js";
import type { MapUpdater, PreparedMap } from "./map-updater.js";
import type { FullTiles } from "./full-tiles.js";
import { encodeMeta } from "./meta-record.js";
import { participantRecord, type Participants } from "./participants.js";
import { readManyAcrossPool } from "./reads.js";
import { NO_VALUE } from "./replay-expiry.js";
import { SaltPool } from "./salt-pool.js";
import { writesStopped } from "./storage-errors.js";
import { decodeStateRecord, encodeStateRecord, readOlderEventIndices } from "./state-record.js";

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

/** The log's compact range and newest signed checkpoint at some size. */
export interface LogHead {
  range: CompactRange;
  latest: { note: string; checkpoint: Checkpoint };
}

/**
 * A group validated and applied on top of the sequencer's state. Its log,
 * key states and participants are there when `prepareInto` resolves, and
 * the next group may be prepared on top of them; its map update, checkpoint
 * and answers (`map`, `latest`, `answers`' checkpoints) once `finished`
 * has, and it is ready to be written.
 */
export interface PreparedGroup extends LogHead {
  /** The entries this group staged for the next groups' reads, dropped again once it is durable (`settled`). */
  staged: [string, Uint8Array][];
  /** Its map update (none when it appended nothing), to settle once durable. */
  map: PreparedMap | null;
  /** The log nodes it completes, for the log's memory once durable. */
  logNodes: StoredNode[];
  participants: Map<string, Participant>;
  /** The log index of each participant's registration in the group. */
  participantEvents: Map<string, bigint>;
  /** By submission; an error refuses that submission as a whole (an Idempotency-Key reused for other events). */
  answers: (SubmitAnswer | KeyProofError)[];
  events: number;
  started: number;
  finished: Promise<void>;
}

/** What the prepare stage works with, shared with the rest of the ledger. */
export interface PreparerParts {
  db: Db;
  origin: string;
  signer: NoteSigner;
  map: MapUpdater;
  participants: Participants;
  clock: EventClock;
  now: () => Date;
  /** The hex HMAC of a code under the pepper (the code index's key). */
  codeMac: (code: string) => string;
  /** The fingerprint of a submission's requests under the pepper, for Idempotency-Keys. */
  fingerprint: (requests: unknown[]) => string;
}

/** A key as the code index holds it: its commitment and salt. */
export interface KeyRef {
  commitment: string;
  salt: Uint8Array;
}

/** A code index value (written by `prepareInto`): the commitment's 32 bytes, then the salt's. */
export function decodeKeyRef(v: Uint8Array): KeyRef {
  return { commitment: toHex(v.slice(0, 32)), salt: v.slice(32, 64) };
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

function latin1(key: Uint8Array): string {
  return String.fromCharCode.apply(null, key as unknown as number[]);
}

function errorResult(e: unknown): EventResult {
  if (e instanceof KeyProofError) return { ok: false, error: e.toJSON() };
  throw e;
}

export class GroupPreparer {
  private readonly salts = new SaltPool();
  /** Where the next group's events go: the durable log, or the newest group prepared on top of it. */
  private range: LogHead["range"];
  /** The newest checkpoint of a group finished (or the durable one). */
  private latest: LogHead["latest"];
  /** The newest group's last step (`PreparedGroup.finished`), which the next one's follows. */
  private lastFinished: Promise<void> = Promise.resolve();
  /** The rows of the hash tiles being filled, at `range`'s size. */
  private tiles: FullTiles;
  /** Values written by batches not yet durable, for the reads the next batch makes (by latin1 key). */
  private readonly staged = new Map<string, Uint8Array>();

  /** `head`: the durable log the first group builds on; `tiles`: its tiles' rows. */
  constructor(
    private readonly parts: PreparerParts,
    head: LogHead,
    tiles: FullTiles,
  ) {
    this.range = head.range;
    this.latest = head.latest;
    this.tiles = tiles;
  }

  /** The newest checkpoint prepared: the durable one, or the one the newest group prepared will publish. */
  get newest(): LogHead["latest"] {
    return this.latest;
  }

  /** Called once a prepared group is durable: the next groups read what it wrote from LevelDB again. */
  settled(g: PreparedGroup): void {
    for (const [k, v] of g.staged) if (this.staged.get(k) === v) this.staged.delete(k);
  }

  /**
   * Validates and applies a group on top of the sequencer's state and adds
   * its writes to `batch`. Stages what the next group must see; nothing is
   * durable or visible to readers until the ledger publishes it. Resolves
   * once the next group may be prepared; the group's map update and
   * checkpoint go on until its `finished` (see PreparedGroup).
   */
  async prepareInto(batch: ChainedBatch, subs: Submission[]): Promise<PreparedGroup> {
    const started = performance.now();
    // Answers stored by the group before are staged when it finishes: a replay must see them.
    if (subs.some((s) => s.idempotencyKey)) await this.lastFinished.catch(() => undefined);
    const answers: (SubmitAnswer | KeyProofError | undefined)[] = new Array(subs.length);
    // Idempotent replays: answered from the stored first answer, appending nothing.
    const idemKeys = subs.map((s) => (s.idempotencyKey ? K.idempotency(s.actor, s.idempotencyKey) : undefined));
    const fingerprints = subs.map((s) => (s.idempotencyKey ? this.parts.fingerprint(s.requests) : ""));
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

    const range = this.range.clone();
    const tiles = this.tiles.clone();
    // Straight into the native batch: an array of op objects kept every
    // event's keys and values alive on the JS heap until the write. Small
    // values are carved (keys.ts says why), as K's keys are.
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
          const entry = utf8(encodeEvent(event));
          const leaf = leafHash(entry);
          const leafHex = toHex(leaf);
          const index = range.size;
          const effect = applyEvent(overlay, event, leafHex, Number(index));
          overlay.apply(effect);
          for (const n of range.append(leaf)) {
            put(K.node(n.level, n.index), carve(n.hash));
            logNodes.push(n);
            const full = tiles.add(n);
            if (full) put(K.tile(full.tileLevel, full.index), full.hashes);
          }
          put(K.entry(index), entry);
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
              put(K.salt(c), carve(ref.salt));
              put(K.codeIndex(fromHex(mac, 32)), carve(c, ref.salt));
              keys.codes.set(mac, ref);
              keys.salts.set(ref.commitment, ref.salt);
            }
          }
          results.push({ ok: true, index: Number(index), key: effect.kind === "key" ? effect.key : null, leafHash: leafHex });
        } catch (e) {
          results.push(errorResult(e));
        }
      });
      answers[i] = { results, checkpoint: "" };
    }

    const accepted = range.size - baseSize;
    const updates: MapUpdate[] = [];
    if (accepted > 0n) {
      for (const [hex, { state, events }] of touched) {
        const key = fromHex(hex, 32);
        const record = stateRecord(state);
        put(K.state(key), encodeStateRecord(record.bytes, events));
        // The list is whole in the record now: an older version's records of it go in the same write.
        if (keys.older.has(hex)) for (const i of keys.events.get(hex)!) batch.del(K.keyEvent(key, i));
        updates.push({ key, stateHash: record.hash });
      }
    }
    const lastTime = this.parts.clock.newestTime;
    // Asked now, in the groups' order: the updater applies each on top of the one before.
    const mapped = accepted > 0n ? this.parts.map.update(updates, range.size) : null;

    // The next group builds on this one's log, key states and participants from here on.
    this.range = range;
    this.tiles = tiles;
    this.parts.participants.stage(overlay.participants);
    for (const [k, v] of staged) this.staged.set(k, v);

    const group: PreparedGroup = {
      staged,
      range,
      latest: this.latest,
      map: null,
      logNodes,
      participants: overlay.participants,
      participantEvents,
      answers: answers as (SubmitAnswer | KeyProofError)[],
      events: Number(accepted),
      started,
      finished: Promise.resolve(),
    };
    const previous = this.lastFinished.catch((e: unknown) => {
      // Built on a group that failed: this one cannot be written either (group-commit.ts stops writing).
      throw writesStopped(e);
    });
    group.finished = (async () => {
      const [map] = await Promise.all([mapped, previous]);
      let latest = this.latest;
      if (map) {
        this.parts.map.addOps(batch, map);
        const checkpoint: Checkpoint = { origin: this.parts.origin, size: range.size, logRoot: range.root(), mapRoot: map.root };
        const note = signCheckpoint(checkpoint, this.parts.signer);
        put(K.checkpoint(range.size), utf8(note));
        latest = { note, checkpoint };
        put(K.meta, encodeMeta({ size: Number(range.size), lastTime }));
      }
      for (const i of live) (answers[i] as SubmitAnswer).checkpoint = latest.note;
      subs.forEach((_, i) => {
        const k = idemKeys[i];
        if (!k || answers[i]) return;
        const twin = inGroup.get(toHex(k))!;
        answers[i] = fingerprints[i] === fingerprints[twin] ? answers[twin] : idempotencyKeyReused();
      });
      const storedAt = idemKeys.some((k) => k !== undefined) ? this.parts.now().toISOString() : "";
      for (const i of live) {
        const k = idemKeys[i];
        if (!k) continue;
        const answer = answers[i] as SubmitAnswer;
        batch.put(k, encodeReplay(fingerprints[i]!, storedAt, answer, Number(latest.checkpoint.size)));
        batch.put(K.idempotencyExpiry(storedAt, k), NO_VALUE);
        const replay: [string, Uint8Array] = [latin1(k), encodeWholeReplay(fingerprints[i]!, storedAt, answer)];
        staged.push(replay);
        this.staged.set(...replay);
      }
      this.latest = latest;
      group.latest = latest;
      group.map = map;
    })();
    // Its failure is the sequencer's to report (group-commit.ts), not an unhandled rejection here.
    group.finished.catch(() => undefined);
    this.lastFinished = group.finished;
    return group;
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
    if (this.staged.size === 0) return readManyAcrossPool(this.parts.db, keys);
    const out: (Uint8Array | undefined)[] = keys.map((k) => this.staged.get(latin1(k)));
    const missing = keys.filter((_, i) => out[i] === undefined);
    if (missing.length > 0) {
      const got = await readManyAcrossPool(this.parts.db, missing);
      let j = 0;
      out.forEach((v, i) => {
        if (v === undefined) out[i] = got[j++];
      });
    }
    return out;
  }

  private prepareRequest(raw: unknown): PreparedRequest | KeyProofError {
    try {
      const req = checkInput(eventRequest, raw);
      // codeMac normalizes the code, so a malformed code is reported here.
      return req.type !== "participant" && req.code !== undefined ? { req, mac: this.parts.codeMac(req.code) } : { req };
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
        const ref = decodeKeyRef(v);
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
          older.push(readOlderEventIndices(this.parts.db, k).then((found) => void index.events.set(k, found)));
        }
      }
      const salt = salts[i];
      if (salt) index.salts.set(k, salt);
    });
    await Promise.all(older);
    return { view: { participant: (id) => this.parts.participants.working(id), keyState: (k) => stateMap.get(k) }, index };
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
    // Members in code-unit order, as JCS writes them: canonicalize (jcs.ts) then needs no sort.
    const time = this.parts.clock.next();
    if (req.type === "participant") {
      return { actor, attrs: { id: req.id, name: req.name, role: req.role }, time, type: "participant", v: 1 };
    }
    const key = ref!.commitment;
    if (req.type === "issue") {
      const attrs = {
        ...(req.batch !== undefined ? { batch: req.batch } : {}),
        ...(req.expires !== undefined ? { expires: req.expires } : {}),
        ...(req.face !== undefined ? { face: req.face } : {}),
        sku: req.sku,
      };
      return { actor, attrs, key, prev: null, time, type: "issue", v: 1 };
    }
    const prev = view.keyState(key)?.head ?? ZERO_HEAD;
    switch (req.type) {
      case "transfer":
        return { actor, attrs: { to: req.to }, key, prev, time, type: "transfer", v: 1 };
      case "sell":
        return { actor, attrs: { order: orderCommitment(ref!.salt, req.order) }, key, prev, time, type: "sell", v: 1 };
      case "redeem":
        return { actor, attrs: {}, key, prev, time, type: "redeem", v: 1 };
      case "void":
        return { actor, attrs: { reason: req.reason }, key, prev, time, type: "void", v: 1 };
    }
  }
}
