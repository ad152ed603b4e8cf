/**
 * LevelDB key layout. One byte of prefix per record kind; integers are
 * big-endian so that keys sort numerically.
 *
 *   e <index u64>                 log entry (JCS bytes)
 *   n <level u8> <index u64>      hash of a perfect log subtree
 *   T <tile level u8> <index u64> a full hash tile, its 256 hashes joined (full-tiles.ts; absent in stores from before)
 *   m <depth u16> <path bytes>    latest map node, then the log size after the batch that wrote it (u64; absent in stores from before)
 *   h <depth u16> <path> <~rev>   a map node as the batch ending at log size rev wrote it, rev inverted: kept for a size in K when the node
 *                                 changes after it (map-store.ts), and for every batch up to F
 *   K <size u64>                  a size the map's history is kept for (empty value): proofs can be made at it for good
 *   F <size u64>                  the size up to which the history holds every batch (a store from before K; 0 for one made since)
 *   s <commitment>                latest key state (JCS), then its events' log indices (state-record.ts)
 *   k <commitment>                key salt
 *   v <commitment> <index u64>    a key's event index, as versions before state-record.ts kept them (read; deleted at the key's next event)
 *   i <hmac(pepper, code)>        private code index -> commitment
 *   p <id>                        participant (JSON)
 *   t <sha256(token)>             API token -> participant id
 *   c <size u64>                  signed checkpoint note
 *   a <size u64>                  anchor record (JSON)
 *   A                             the anchor records' index up to a size (anchor-records.ts)
 *   d <actor> 0x00 <idem key>     stored answer of an idempotent request
 *   x <stored at, ISO> <d key>    when that answer was stored (empty value): what expires, oldest first
 *   X                             present once every stored answer with a time has its x key
 *   M                             meta (JSON): size, last time
 *   P                             HMAC(pepper, PEPPER_CHECK): which pepper the code index was built with
 */
import { u64be, utf8, writeU64be } from "../core/bytes.js";
import { MAX_U64 } from "../core/log/bits.js";

// Prefixes are encoded once: keys are built for every node of every batch.
const PREFIX = Object.fromEntries([..."enmhskvipqtucabdxAMPXTKFL"].map((c) => [c, utf8(c)])) as Record<string, Uint8Array>;
const p = (c: string): Uint8Array => PREFIX[c]!;

export const K = {
  entry: (index: bigint | number) => prefixedU64("e", index),
  node: (level: number, index: bigint) => {
    const k = alloc(10);
    k[0] = CHAR_N;
    k[1] = level;
    writeU64be(k, 2, index);
    return k;
  },
  tile: (tileLevel: number, index: bigint) => carve(p("T"), Uint8Array.of(tileLevel), u64be(index)),
  mapLatest: (depth: number, path: Uint8Array) => mapKey("latest", depth, path, 0),
  mapHistoryPrefix: (depth: number, path: Uint8Array) => mapKey("history", depth, path, 0),
  mapHistory: (depth: number, path: Uint8Array, rev: bigint) => {
    const k = mapKey("history", depth, path, 8);
    writeU64be(k, k.length - 8, MAX_U64 - rev);
    return k;
  },
  /** `mapHistory` of the position whose latest record's key is `latest`. */
  mapHistoryOfLatest: (latest: Uint8Array, rev: bigint) => {
    const k = alloc(latest.length + 8);
    k.set(latest);
    k[0] = CHAR_H;
    writeU64be(k, latest.length, MAX_U64 - rev);
    return k;
  },
  mapHistoryRange: { gte: p("h"), lt: p("i") },
  mapKept: (size: bigint) => prefixedU64("K", size),
  mapKeptRange: { gte: p("K"), lt: p("L") },
  mapFullHistory: p("F"),
  state: (commitment: Uint8Array) => carve(p("s"), commitment),
  salt: (commitment: Uint8Array) => carve(p("k"), commitment),
  keyEvent: (commitment: Uint8Array, index: bigint | number) => carve(p("v"), commitment, u64be(index)),
  keyEventRange: (commitment: Uint8Array) => ({
    gte: carve(p("v"), commitment),
    lt: carve(p("v"), commitment, Uint8Array.of(0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff)),
  }),
  codeIndex: (mac: Uint8Array) => carve(p("i"), mac),
  participant: (id: string) => carve(p("p"), utf8(id)),
  participantRange: { gte: p("p"), lt: p("q") },
  token: (hash: Uint8Array) => carve(p("t"), hash),
  tokenRange: { gte: p("t"), lt: p("u") },
  checkpoint: (size: bigint | number) => prefixedU64("c", size),
  anchor: (size: bigint | number) => prefixedU64("a", size),
  anchorRange: { gte: p("a"), lt: p("b") },
  anchorIndex: p("A"),
  idempotency: (actor: string, key: string) => carve(p("d"), utf8(actor), Uint8Array.of(0), utf8(key)),
  idempotencyRange: { gte: p("d"), lt: p("e") },
  /** `at` is a 24-character ISO 8601 time (toISOString), so the keys sort by it. */
  idempotencyExpiry: (at: string, record: Uint8Array) => carve(p("x"), utf8(at), record),
  idempotencyExpiryBefore: (at: string) => ({ gte: p("x"), lt: carve(p("x"), utf8(at)) }),
  idempotencyIndexed: p("X"),
  meta: p("M"),
  pepperCheck: p("P"),
};

const CHAR_N = 0x6e; // "n"
const CHAR_M = 0x6d; // "m"
const CHAR_H = 0x68; // "h"

// Map and node keys are built by the hundreds of thousands per batch. They are
// carved from shared 64 KiB slabs: one ArrayBuffer per slab instead of one per
// key keeps the garbage collector's work per batch small. A chained batch
// copies what it is given at once, so values only put in one are carved too.
const SLAB_BYTES = 65536;
/** Larger requests get an array of their own: past 64 bytes one lives outside V8's heap anyway. */
const SLAB_MAX_REQUEST = 4096;
let slab = new Uint8Array(0);
let slabUsed = 0;
export function alloc(n: number): Uint8Array {
  if (n > SLAB_MAX_REQUEST) return new Uint8Array(n);
  if (slabUsed + n > slab.length) {
    slab = new Uint8Array(SLAB_BYTES);
    slabUsed = 0;
  }
  const k = slab.subarray(slabUsed, slabUsed + n);
  slabUsed += n;
  return k;
}

/**
 * `parts` joined in slab memory (`alloc`). A typed array of up to 64 bytes
 * made any other way lives in V8's heap, and handing one to LevelDB makes V8
 * move it out first, an ArrayBuffer of its own each time: at about a dozen
 * keys and values an event, 470–600 ns a put against 240–250 from a slab
 * (docs/figures.md, thirty-fifth session).
 */
export function carve(...parts: Uint8Array[]): Uint8Array {
  let n = 0;
  for (const p of parts) n += p.length;
  const out = alloc(n);
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

/** A prefix byte and a u64, written in place (an entry's key is made for every event). */
function prefixedU64(prefix: string, n: bigint | number): Uint8Array {
  const k = alloc(9);
  k[0] = p(prefix)[0]!;
  writeU64be(k, 1, BigInt(n));
  return k;
}

function mapKey(kind: "latest" | "history", depth: number, path: Uint8Array, extra: number): Uint8Array {
  const k = alloc(mapKeyLength(depth) + extra);
  writeMapKey(k, 0, kind, depth, path);
  return k;
}

/** The length of a map node's key, without a history record's rev. */
export function mapKeyLength(depth: number): number {
  return 3 + Math.ceil(depth / 8);
}

/** Writes the key of a position's latest record (`m`), or of its history records without their rev (`h`), at `at`; returns where it ends. */
export function writeMapKey(k: Uint8Array, at: number, kind: "latest" | "history", depth: number, path: Uint8Array): number {
  const n = Math.ceil(depth / 8);
  k[at] = kind === "latest" ? CHAR_M : CHAR_H;
  k[at + 1] = depth >> 8;
  k[at + 2] = depth & 0xff;
  for (let i = 0; i < n; i++) k[at + 3 + i] = path[i]!;
  if (depth % 8) k[at + 2 + n]! &= (0xff << (8 - (depth % 8))) & 0xff;
  return at + 3 + n;
}
