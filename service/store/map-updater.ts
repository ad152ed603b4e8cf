/**
 * Who computes the map's part of a group: its new root and the LevelDB
 * records of the nodes it changes. On the ledger's own thread
 * (`InThreadMapUpdater`), or on a thread of its own (map-thread.ts), where
 * the prefetch reads, the hashing and the node cache of a new key (about
 * two fifths of the event loop's work an event, docs/figures.md) leave the
 * event loop that serves HTTP and sequences the log.
 *
 * Either way the sequencer sees the same three steps, in the order
 * group-prepare.ts and ledger.ts call them: `update`, asked for each group
 * in the groups' order and applied, staged, on top of the one before;
 * `addOps` (after the group's last await, so a size kept meanwhile keeps its
 * history); `settle` (its batch is durable). An update is staged as soon as
 * it is made: the next group's may already be asked for, and a group whose
 * update fails stops the ledger's writing (group-commit.ts), so none is
 * ever taken back.
 */
import type { KeyProofError } from "../core/errors.js";
import type { MapUpdate, MapWrite } from "../core/map/sparse-map.js";
import { K, mapKeyLength, writeMapKey } from "./keys.js";
import { historyNeeded, mapNodeLength, writeMapNode, type ChainedBatch, type MapStore } from "./map-store.js";
import type { StoredNode } from "./node-cache.js";

/** A group's map update: its root, and what the updater needs to write and settle it. */
export interface PreparedMap {
  root: Uint8Array;
}

export interface MapUpdater {
  /** The map after `updates`, on top of every update asked for before, for the batch ending at log size `rev`; staged. */
  update(updates: MapUpdate[], rev: bigint): Promise<PreparedMap>;
  /** Adds the update's records to the batch, with the history of the nodes it replaces that a kept size needs. */
  addOps(batch: ChainedBatch, p: PreparedMap): void;
  /** The group's batch is durable. */
  settle(p: PreparedMap): void;
  /** CPU seconds of a thread of its own (Linux), for the service's metrics. */
  cpuSeconds?(): number | null;
  /** Why it can update no more (a thread that failed), or null. */
  readonly failure: KeyProofError | null;
  close(): Promise<void>;
}

interface InThreadMap extends PreparedMap {
  writes: MapWrite[];
  rev: bigint;
}

/** The map updated on the calling thread, by the store that also answers its proofs. */
export class InThreadMapUpdater implements MapUpdater {
  readonly failure = null;
  /** The newest update asked for: the next one starts once it is staged. */
  private last: Promise<unknown> = Promise.resolve();

  constructor(private readonly map: MapStore) {}

  update(updates: MapUpdate[], rev: bigint): Promise<InThreadMap> {
    const next = this.last.then(() => this.apply(updates, rev));
    // Never rejects: a failed update is its group's, and the next one starts all the same.
    this.last = next.catch(() => undefined);
    return next;
  }

  private async apply(updates: MapUpdate[], rev: bigint): Promise<InThreadMap> {
    const { root, writes } = await this.map.prepare(updates);
    this.map.stage(writes, rev);
    return { root, writes, rev };
  }

  addOps(batch: ChainedBatch, p: PreparedMap): void {
    const m = p as InThreadMap;
    this.map.addOps(batch, m.writes, m.rev);
  }

  settle(p: PreparedMap): void {
    this.map.settle((p as InThreadMap).writes);
  }

  async close(): Promise<void> {}
}

/*
 * An update's records packed in one buffer, to cross between threads as one
 * transfer: for each changed node its latest record, then, where the node it
 * replaces carries a `rev`, that node's value as of the rev. Whether it is
 * written, as a history record, is decided when the records are added to the
 * batch (`addPackedOps`), against the sizes kept by then; its key is made
 * only then, from the latest record's before it. Few are written (none while
 * no size is kept), so the map's thread builds no keys for the others.
 *
 *   0x00 <key length u8> <key> <value length u8> <value>   latest
 *   0x01 <rev f64> <value length u8> <value>               the node the latest before it replaces
 */
const LATEST = 0;
const REPLACED = 1;

/** Packs `writes` as the batch ending at log size `rev` writes them (see above). */
export function packMapOps(writes: MapWrite[], rev: number): Uint8Array {
  // Keys at most 3 + 32 bytes, values at most 72: a bound, trimmed at the end.
  const out = new Uint8Array(writes.length * (1 + 1 + 35 + 1 + 72 + 1 + 8 + 1 + 64));
  const view = new DataView(out.buffer);
  let at = 0;
  for (const w of writes) {
    // Written in place: a key and a value made per node, then copied here, were half of the packing.
    out[at] = LATEST;
    out[at + 1] = mapKeyLength(w.depth);
    at = writeMapKey(out, at + 2, "latest", w.depth, w.path);
    out[at] = mapNodeLength(w.node, rev);
    at = writeMapNode(out, at + 1, w.node, rev);
    const old = w.replaced as StoredNode | undefined;
    if (old?.rev !== undefined) {
      out[at] = REPLACED;
      view.setFloat64(at + 1, old.rev);
      out[at + 9] = mapNodeLength(old);
      at = writeMapNode(out, at + 10, old);
    }
  }
  return out.subarray(0, at);
}

/** Adds packed records to `batch`: every latest one, and the history ones a size kept up to `newestKept` needs. */
export function addPackedOps(batch: ChainedBatch, packed: Uint8Array, newestKept: number): void {
  const view = new DataView(packed.buffer, packed.byteOffset, packed.byteLength);
  let latest = packed.subarray(0, 0);
  let at = 0;
  while (at < packed.length) {
    if (packed[at++] === LATEST) {
      const keyEnd = at + 1 + packed[at]!;
      latest = packed.subarray(at + 1, keyEnd);
      const valueEnd = keyEnd + 1 + packed[keyEnd]!;
      batch.put(latest, packed.subarray(keyEnd + 1, valueEnd));
      at = valueEnd;
    } else {
      const rev = view.getFloat64(at);
      at += 8;
      const valueEnd = at + 1 + packed[at]!;
      if (historyNeeded(rev, newestKept)) batch.put(K.mapHistoryOfLatest(latest, BigInt(rev)), packed.subarray(at + 1, valueEnd));
      at = valueEnd;
    }
  }
}
