/**
 * The reads a bundle and the public API make of the store, shared by the
 * ledger (which also writes, ledger.ts) and by a read replica of it in
 * another thread (read-replica.ts): a code's key, a key's record, entries,
 * checkpoints, log and map proofs at a size, anchors. Everything read is
 * durable; `checkpoint` is the newest one this reader has been told of.
 */
import { fromHex, fromUtf8 } from "../core/bytes.js";
import { codeLookupWith } from "../core/commitment.js";
import type { KeyState } from "../core/ledger/schema.js";
import type { MapProof } from "../core/map/proof.js";
import type { Checkpoint } from "../core/note/checkpoint.js";
import { AnchorRecords, type AnchorChange } from "./anchor-records.js";
import { decodeKeyRef, type KeyRef } from "./group-prepare.js";
import { K } from "./keys.js";
import { LogStore } from "./log-store.js";
import { MapStore, type Db } from "./map-store.js";
import { decodeMeta } from "./meta-record.js";
import { readOne } from "./reads.js";
import { decodeStateRecord, readOlderEventIndices } from "./state-record.js";

export interface LatestCheckpoint {
  note: string;
  checkpoint: Checkpoint;
}

/** What a ledger tells a replica that follows it (`Ledger.follow`), in the order it happened. */
export type LedgerUpdate =
  | { type: "published"; latest: LatestCheckpoint }
  | { type: "pin"; size: bigint }
  | { type: "unpin"; size: bigint }
  | { type: "anchor"; change: AnchorChange };

export abstract class LedgerReads {
  readonly log: LogStore;
  readonly map: MapStore;
  readonly anchors: AnchorRecords;
  protected readonly codeLookup: (code: string) => Uint8Array;
  /** Readers waiting for a checkpoint newer than a size (`newerThan`). */
  private waiting: { size: bigint; done: () => void }[] = [];

  protected constructor(
    readonly db: Db,
    pepper: Uint8Array,
    mapCacheSize?: number,
  ) {
    this.log = new LogStore(db);
    this.map = new MapStore(db, mapCacheSize);
    this.anchors = new AnchorRecords(db);
    this.codeLookup = codeLookupWith(pepper);
  }

  /** The newest checkpoint this reader knows to be durable. */
  abstract get checkpoint(): LatestCheckpoint;

  get size(): bigint {
    return this.checkpoint.checkpoint.size;
  }

  /**
   * Resolves to true once a checkpoint newer than `size` is known, to false
   * if none is after `ms`. A record read from the store can be newer than
   * the checkpoint a reader knows (its batch durable, its publication still
   * on the way); the reader waits for it instead of proving against a
   * checkpoint without it.
   */
  newerThan(size: bigint, ms = 1000): Promise<boolean> {
    if (this.size > size) return Promise.resolve(true);
    return new Promise((resolve) => {
      const waiter = {
        size,
        done: (): void => {
          clearTimeout(timer);
          resolve(true);
        },
      };
      const timer = setTimeout(() => {
        this.waiting = this.waiting.filter((w) => w !== waiter);
        resolve(false);
      }, ms);
      this.waiting.push(waiter);
    });
  }

  /** Wakes the readers that waited for a checkpoint this reader now knows (call after it changed). */
  protected announce(): void {
    if (this.waiting.length === 0) return;
    const size = this.size;
    const ready = this.waiting.filter((w) => w.size < size);
    this.waiting = this.waiting.filter((w) => w.size >= size);
    for (const w of ready) w.done();
  }

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
}
