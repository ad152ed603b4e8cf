/**
 * The anchors an audit checks, packed: a log anchored every 30 s has about a
 * million anchors a year, and one object per anchor (its check, its claim
 * and the chain's event) took some 820 bytes of heap each, so an audit of
 * four years of anchors passed Node's default heap. Here an anchor is about
 * 120 bytes in a few typed arrays; its `SizeCheck` is made when it is read.
 */
import { fromHex, toHex, toHex0x } from "../../core/bytes.js";
import type { AnchoredEvent } from "../../chain/contract.js";
import type { SizeCheck } from "./auditor.js";

/** A result as stored: not checked, matched, differed. */
const UNCHECKED = 0;
const MATCH = 1;
const DIFFER = 2;

const ROOTS = 64;
const TX = 32;

export class AnchorChecks implements Iterable<SizeCheck> {
  #length = 0;
  #sizes = new Float64Array(1024);
  #blocks = new Float64Array(1024);
  /** Each anchor's log root, then its map root. */
  #roots = new Uint8Array(1024 * ROOTS);
  #tx = new Uint8Array(1024 * TX);
  /** The log root's result in the low two bits, the map root's in the next two. */
  #results = new Uint8Array(1024);

  get length(): number {
    return this.#length;
  }

  /** Adds an anchor in chain order (its roots and hash are 32 bytes of lowercase hex, as the chain client reads them); returns its position. */
  push(e: AnchoredEvent): number {
    if (this.#length === this.#sizes.length) this.#grow();
    const i = this.#length++;
    this.#sizes[i] = Number(e.size);
    this.#blocks[i] = e.blockNumber;
    this.#roots.set(fromHex(e.logRoot.slice(2), 32), i * ROOTS);
    this.#roots.set(fromHex(e.mapRoot.slice(2), 32), i * ROOTS + 32);
    this.#tx.set(fromHex(e.txHash.slice(2), 32), i * TX);
    return i;
  }

  size(i: number): number {
    return this.#sizes[i]!;
  }

  logRoot(i: number): Uint8Array {
    return this.#roots.subarray(i * ROOTS, i * ROOTS + 32);
  }

  mapRoot(i: number): Uint8Array {
    return this.#roots.subarray(i * ROOTS + 32, i * ROOTS + 64);
  }

  /** Records what replaying the log gave at this anchor's size (null: not checked). */
  setResult(i: number, logRootOk: boolean | null, mapRootOk: boolean | null): void {
    this.#results[i] = encodeResult(logRootOk) | (encodeResult(mapRootOk) << 2);
  }

  /** Positions in the order of their sizes (chain order among equal sizes). */
  bySize(): Uint32Array {
    const order = Uint32Array.from({ length: this.#length }, (_, i) => i);
    return order.sort((a, b) => this.#sizes[a]! - this.#sizes[b]! || a - b);
  }

  /** The check of the anchor at position `i`, as the report gives it. */
  at(i: number): SizeCheck {
    const txHash = toHex0x(this.#tx.subarray(i * TX, (i + 1) * TX));
    return {
      source: `anchor tx ${txHash}`,
      size: this.#sizes[i]!,
      logRoot: toHex(this.logRoot(i)),
      mapRoot: toHex(this.mapRoot(i)),
      logRootOk: decodeResult(this.#results[i]! & 3),
      mapRootOk: decodeResult(this.#results[i]! >> 2),
      txHash,
      blockNumber: this.#blocks[i]!,
    };
  }

  *[Symbol.iterator](): Iterator<SizeCheck> {
    for (let i = 0; i < this.#length; i++) yield this.at(i);
  }

  /** Every check, for `JSON.stringify` (report-file.ts writes a large report one check at a time instead). */
  toJSON(): SizeCheck[] {
    return [...this];
  }

  #grow(): void {
    const n = this.#sizes.length * 2;
    const grown = <T extends Float64Array | Uint8Array>(a: T, per: number): T => {
      const b = new (a.constructor as new (n: number) => T)(n * per);
      b.set(a);
      return b;
    };
    this.#sizes = grown(this.#sizes, 1);
    this.#blocks = grown(this.#blocks, 1);
    this.#roots = grown(this.#roots, ROOTS);
    this.#tx = grown(this.#tx, TX);
    this.#results = grown(this.#results, 1);
  }
}

function encodeResult(ok: boolean | null): number {
  return ok === null ? UNCHECKED : ok ? MATCH : DIFFER;
}

function decodeResult(v: number): boolean | null {
  return v === UNCHECKED ? null : v === MATCH;
}
