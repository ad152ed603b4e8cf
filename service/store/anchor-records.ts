/**
 * The service's own record of its anchors: written before a transaction is
 * sent (pending) and again once it is confirmed, so a restart knows what it
 * sent. The chain stays the authority; these records only say where to look.
 *
 * A log anchored every 30 s gathers about a million records a year. Every
 * bundle looks one up, the anchorer a few each round, so what memory keeps
 * of them is an index of a few numbers a record (size, confirmed, contract),
 * loaded when the ledger opens and kept up to date by every write; a record
 * itself is read from LevelDB when it is wanted. Kept whole, the records took
 * some 400 bytes each.
 *
 * Reading the index back record by record took 8–13 s a million records (one
 * LevelDB iteration step each), so a restart after a year of anchors waited
 * that long. The index is also stored whole, as one value (a snapshot of the
 * records up to a size), and a start reads it and then only the records
 * above that size. A write that changes a record the snapshot holds deletes
 * it in the same batch, so a stored snapshot is always exact.
 */
import { concatBytes, fromUtf8, utf8 } from "../core/bytes.js";
import { K } from "./keys.js";
import type { Db } from "./map-store.js";
import { inPages, readOne } from "./reads.js";

export interface AnchorRecord {
  size: number;
  logRoot: string;
  mapRoot: string;
  chainId: number;
  contract: string;
  txHash: string | null;
  blockNumber: number | null;
  status: "pending" | "confirmed";
}

/** Sizes in order, and beside each the record's contract (an id into `contracts`) and whether it is confirmed. */
class AnchorIndex {
  readonly sizes: number[] = [];
  /** Bit 0: confirmed; the rest: the contract's id. */
  private readonly flags: number[] = [];
  private readonly contracts: string[] = [];
  private readonly contractIds = new Map<string, number>();

  /** The first position whose size is above `size`. */
  above(size: number): number {
    let lo = 0;
    let hi = this.sizes.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (this.sizes[mid]! <= size) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  /** The position of `size`, or -1. */
  find(size: number): number {
    const i = this.above(size) - 1;
    return i >= 0 && this.sizes[i] === size ? i : -1;
  }

  set(rec: AnchorRecord): void {
    let id = this.contractIds.get(rec.contract);
    if (id === undefined) {
      id = this.contracts.push(rec.contract) - 1;
      this.contractIds.set(rec.contract, id);
    }
    const flags = (id << 1) | (rec.status === "confirmed" ? 1 : 0);
    const i = this.above(rec.size);
    if (i > 0 && this.sizes[i - 1] === rec.size) {
      this.flags[i - 1] = flags;
      return;
    }
    // Anchors grow, so a new record goes at the end; a smaller one (anchored
    // again after a chain reset) is put in its place.
    if (i === this.sizes.length) {
      this.sizes.push(rec.size);
      this.flags.push(flags);
    } else {
      this.sizes.splice(i, 0, rec.size);
      this.flags.splice(i, 0, flags);
    }
  }

  delete(size: number): void {
    const at = this.find(size);
    if (at < 0) return;
    this.sizes.splice(at, 1);
    this.flags.splice(at, 1);
  }

  confirmed(i: number): boolean {
    return (this.flags[i]! & 1) === 1;
  }

  /** Whether the record at position `i` is on `contract`. */
  on(i: number, contract: string): boolean {
    return this.contracts[this.flags[i]! >> 1] === contract;
  }

  /**
   * The size up to which every record is confirmed (the one before the first
   * pending record), and how many records that is: what a snapshot can hold
   * without the record's next write (its confirmation) deleting it. The
   * first `from` records are known to be confirmed.
   */
  settledPrefix(from: number): { through: number; count: number } | null {
    let count = from;
    while (count < this.sizes.length && this.confirmed(count)) count++;
    return count === 0 ? null : { through: this.sizes[count - 1]!, count };
  }

  /** The records up to `count`, as stored: a JSON header, then each size (f64) and its flags (u32). */
  encode(count: number, through: number): Uint8Array {
    const header = utf8(JSON.stringify({ v: SNAPSHOT_VERSION, through, count, contracts: this.contracts }));
    const body = new Uint8Array(4 + count * 12);
    const view = new DataView(body.buffer);
    view.setUint32(0, header.length);
    for (let i = 0; i < count; i++) {
      view.setFloat64(4 + i * 8, this.sizes[i]!);
      view.setUint32(4 + count * 8 + i * 4, this.flags[i]!);
    }
    return concatBytes(body.subarray(0, 4), header, body.subarray(4));
  }

  /** The index a snapshot holds and the size it goes up to; null for anything else (it is then scanned again). */
  static decode(bytes: Uint8Array): { index: AnchorIndex; through: number } | null {
    try {
      const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
      const headerEnd = 4 + view.getUint32(0);
      const h = JSON.parse(fromUtf8(bytes.subarray(4, headerEnd))) as Record<string, unknown>;
      const { v, through, count, contracts } = h;
      if (v !== SNAPSHOT_VERSION || typeof through !== "number" || typeof count !== "number" || !Array.isArray(contracts)) return null;
      if (bytes.length !== headerEnd + count * 12 || !contracts.every((c) => typeof c === "string")) return null;
      const index = new AnchorIndex();
      contracts.forEach((c: string, id) => {
        index.contracts.push(c);
        index.contractIds.set(c, id);
      });
      for (let i = 0; i < count; i++) {
        index.sizes.push(view.getFloat64(headerEnd + i * 8));
        index.flags.push(view.getUint32(headerEnd + count * 8 + i * 4));
      }
      // The header's size is the last record's (what the tail read starts above).
      return index.sizes.at(-1) === through ? { index, through } : null;
    } catch {
      return null;
    }
  }
}

const SNAPSHOT_VERSION = 1;
/**
 * New settled records past the stored snapshot before it is written again:
 * about 3.5 days of anchors every 30 s; a snapshot of a million records is
 * 12 MB, and a start scans at most this many records beside it.
 */
export const SNAPSHOT_EVERY = 10_000;

/** A durable change to the records, as a replica of the index applies it (`mirror`). */
export type AnchorChange = { type: "put"; rec: AnchorRecord } | { type: "remove"; sizes: number[] };

export class AnchorRecords {
  private index = new AnchorIndex();
  /** Told of each change once it is durable (a read replica's index follows it). */
  onChange?: (change: AnchorChange) => void;
  /**
   * How many records the stored snapshot holds (0: none is stored): the
   * index's first ones, which no write has changed since (a write that did
   * deleted it).
   */
  private snapshotCount = 0;
  /** Writes, one at a time: a snapshot is made from the index between two of them. */
  private writing: Promise<unknown> = Promise.resolve();

  constructor(
    private readonly db: Db,
    private readonly snapshotEvery = SNAPSHOT_EVERY,
  ) {}

  /**
   * Reads the index of the stored records; once, when the ledger opens,
   * before any other call: the stored snapshot, then the records above it
   * (all of them when there is none, as in a directory written before
   * snapshots were).
   */
  async load(): Promise<void> {
    await this.readIndex();
    await this.serially(() => this.snapshotIfDue());
  }

  /**
   * Reads the index as `load` does, for a replica that only reads: the
   * writer's `onChange` then tells it of every change (`mirror`). Applied
   * twice, a change does no harm, so one that lands while this reads may.
   */
  async loadReplica(): Promise<void> {
    await this.readIndex();
  }

  /** Applies a change the writer's records made (`onChange`) to this replica's index. */
  mirror(change: AnchorChange): void {
    if (change.type === "put") this.index.set(change.rec);
    else for (const size of change.sizes) this.index.delete(size);
  }

  private async readIndex(): Promise<void> {
    const stored = await this.db.get(K.anchorIndex);
    const snapshot = stored ? AnchorIndex.decode(stored) : null;
    if (snapshot) {
      this.index = snapshot.index;
      this.snapshotCount = snapshot.index.sizes.length;
    }
    const range = snapshot ? { gt: K.anchor(snapshot.through), lt: K.anchorRange.lt } : K.anchorRange;
    for await (const page of inPages(this.db.values({ ...range, fillCache: false }), 10_000)) {
      for (const v of page) this.index.set(decode(v));
    }
  }

  /** The records from size `from` on, by size, read from the store one after the other (for the few callers that want them all). */
  async *records(from: bigint | number = 0): AsyncGenerator<AnchorRecord> {
    for await (const v of this.db.values({ ...K.anchorRange, gte: K.anchor(from) })) yield decode(v);
  }

  /** Every record, by size. */
  async list(): Promise<AnchorRecord[]> {
    const out: AnchorRecord[] = [];
    for await (const r of this.records()) out.push(r);
    return out;
  }

  /** The record of `size` on `contract`, if there is one. */
  get(size: number, contract: string): AnchorRecord | undefined {
    const i = this.index.find(size);
    return i >= 0 && this.index.on(i, contract) ? this.read(size) : undefined;
  }

  /**
   * The newest confirmed anchor on `contract` with `after` < size <= `atMost`:
   * the one a bundle for a key whose newest event is at index `after` is
   * proved against, at a checkpoint no newer than `atMost`. Looks at the
   * records from `atMost` down, so newer ones cost nothing.
   */
  newestConfirmed(contract: string, after: number, atMost: number): AnchorRecord | undefined {
    const { sizes } = this.index;
    for (let i = this.index.above(atMost) - 1; i >= 0 && sizes[i]! > after; i--) {
      const r = this.index.confirmed(i) && this.index.on(i, contract) ? this.read(sizes[i]!) : undefined;
      if (r) return r;
    }
    return undefined;
  }

  /** The size of the newest confirmed anchor, on any contract (the lag metric). */
  newestConfirmedSize(): number | undefined {
    const { sizes } = this.index;
    for (let i = sizes.length - 1; i >= 0; i--) if (this.index.confirmed(i)) return sizes[i];
    return undefined;
  }

  /** The records on `contract` not confirmed yet, by size (a few at most: one per anchor in flight). */
  pending(contract: string): AnchorRecord[] {
    const out: AnchorRecord[] = [];
    // Pending records are the newest ones, but one left by a fault may sit anywhere.
    this.index.sizes.forEach((size, i) => {
      const r = !this.index.confirmed(i) && this.index.on(i, contract) ? this.read(size) : undefined;
      if (r) out.push(r);
    });
    return out;
  }

  /** The oldest and the newest confirmed record on `contract`. */
  confirmedEnds(contract: string): { oldest?: AnchorRecord; newest?: AnchorRecord } {
    const { sizes } = this.index;
    const is = (i: number): boolean => this.index.confirmed(i) && this.index.on(i, contract);
    let first = 0;
    while (first < sizes.length && !is(first)) first++;
    if (first === sizes.length) return {};
    let last = sizes.length - 1;
    while (!is(last)) last--;
    const [oldest, newest] = [this.read(sizes[first]!), this.read(sizes[last]!)];
    return oldest && newest ? { oldest, newest } : {};
  }

  /** Adds or replaces the record of `rec.size`, synced before it returns. */
  put(rec: AnchorRecord): Promise<void> {
    return this.serially(async () => {
      await this.write([{ type: "put", key: K.anchor(rec.size), value: utf8(JSON.stringify(rec)) }], [rec.size]);
      this.index.set(rec);
      this.onChange?.({ type: "put", rec });
      await this.snapshotIfDue();
    });
  }

  remove(size: number): Promise<void> {
    return this.serially(async () => {
      await this.write([{ type: "del", key: K.anchor(size) }], [size]);
      this.index.delete(size);
      this.onChange?.({ type: "remove", sizes: [size] });
      await this.snapshotIfDue();
    });
  }

  /** Forgets the anchors of a contract the chain no longer has. */
  removeContract(chainId: number, contract: string): Promise<void> {
    return this.serially(async () => {
      const gone: number[] = [];
      for await (const a of this.records()) {
        if (a.chainId === chainId && a.contract.toLowerCase() === contract.toLowerCase()) gone.push(a.size);
      }
      await this.write(
        gone.map((size) => ({ type: "del" as const, key: K.anchor(size) })),
        gone,
      );
      for (const size of gone) this.index.delete(size);
      this.onChange?.({ type: "remove", sizes: gone });
      await this.snapshotIfDue();
    });
  }

  private serially<T>(f: () => Promise<T>): Promise<T> {
    const done = this.writing.then(f);
    this.writing = done.catch(() => undefined);
    return done;
  }

  /** Writes `ops` (of the records of `sizes`) synced, deleting the snapshot with them when it holds one of those records. */
  private async write(ops: RecordOp[], sizes: number[]): Promise<void> {
    const through = this.snapshotCount > 0 ? this.index.sizes[this.snapshotCount - 1]! : null;
    const stale = through !== null && sizes.some((s) => s <= through);
    await this.db.batch(stale ? [...ops, { type: "del", key: K.anchorIndex }] : ops, { sync: true });
    if (stale) this.snapshotCount = 0;
  }

  /** Stores the index again once `snapshotEvery` settled records are past the stored one. */
  private async snapshotIfDue(): Promise<void> {
    // What the stored snapshot holds is settled: a write that changed it deleted it.
    const settled = this.index.settledPrefix(this.snapshotCount);
    if (!settled || settled.count - this.snapshotCount < this.snapshotEvery) return;
    try {
      await this.db.put(K.anchorIndex, this.index.encode(settled.count, settled.through), { sync: true });
    } catch {
      // Only a start's speed depends on it: the write it follows is durable, and
      // what is stored (the older snapshot or none) is still exact.
      return;
    }
    this.snapshotCount = settled.count;
  }

  /**
   * The record of an indexed size. The index changes once a write is durable,
   * so a record being removed may be gone already: then there is none.
   */
  private read(size: number): AnchorRecord | undefined {
    const v = readOne(this.db, K.anchor(size));
    return v && decode(v);
  }
}

type RecordOp = { type: "put"; key: Uint8Array; value: Uint8Array } | { type: "del"; key: Uint8Array };

function decode(v: Uint8Array): AnchorRecord {
  return JSON.parse(fromUtf8(v)) as AnchorRecord;
}
