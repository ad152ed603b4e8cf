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
 */
import { fromUtf8, utf8 } from "../core/bytes.js";
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
}

export class AnchorRecords {
  private readonly index = new AnchorIndex();

  constructor(private readonly db: Db) {}

  /**
   * Reads the index of the stored records; once, when the ledger opens,
   * before any other call. A scan of every record: about 10 s a million on
   * the 2-core VM of docs/figures.md, paid once instead of after each anchor.
   */
  async load(): Promise<void> {
    for await (const page of inPages(this.db.values({ ...K.anchorRange, fillCache: false }), 10_000)) {
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
  async put(rec: AnchorRecord): Promise<void> {
    await this.db.put(K.anchor(rec.size), utf8(JSON.stringify(rec)), { sync: true });
    this.index.set(rec);
  }

  async remove(size: number): Promise<void> {
    await this.db.del(K.anchor(size), { sync: true });
    this.index.delete(size);
  }

  /** Forgets the anchors of a contract the chain no longer has. */
  async removeContract(chainId: number, contract: string): Promise<void> {
    const gone: number[] = [];
    for await (const a of this.records()) {
      if (a.chainId === chainId && a.contract.toLowerCase() === contract.toLowerCase()) gone.push(a.size);
    }
    await this.db.batch(
      gone.map((size) => ({ type: "del" as const, key: K.anchor(size) })),
      { sync: true },
    );
    for (const size of gone) this.index.delete(size);
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

function decode(v: Uint8Array): AnchorRecord {
  return JSON.parse(fromUtf8(v)) as AnchorRecord;
}
