/**
 * LevelDB key layout. One byte of prefix per record kind; integers are
 * big-endian so that keys sort numerically.
 *
 *   e <index u64>                 log entry (JCS bytes)
 *   n <level u8> <index u64>      hash of a perfect log subtree
 *   m <depth u16> <path bytes>    latest map node
 *   h <depth u16> <path> <~rev>   map node history: rev = log size after the batch, inverted
 *   s <commitment>                latest key state (JCS)
 *   k <commitment>                key salt
 *   v <commitment> <index u64>    the log indices of a key's events (empty value)
 *   i <hmac(pepper, code)>        private code index -> commitment
 *   p <id>                        participant (JSON)
 *   t <sha256(token)>             API token -> participant id
 *   c <size u64>                  signed checkpoint note
 *   a <size u64>                  anchor record (JSON)
 *   d <actor> 0x00 <idem key>     stored answer of an idempotent request
 *   M                             meta (JSON): size, last time
 */
import { concatBytes, u64be, utf8 } from "../core/bytes.js";
import { MAX_U64 } from "../core/log/bits.js";

const p = (c: string): Uint8Array => utf8(c);

export const K = {
  entry: (index: bigint | number) => concatBytes(p("e"), u64be(index)),
  node: (level: number, index: bigint) => concatBytes(p("n"), Uint8Array.of(level), u64be(index)),
  mapLatest: (depth: number, path: Uint8Array) => concatBytes(p("m"), depthBytes(depth), pathBytes(depth, path)),
  mapHistoryPrefix: (depth: number, path: Uint8Array) => concatBytes(p("h"), depthBytes(depth), pathBytes(depth, path)),
  mapHistory: (depth: number, path: Uint8Array, rev: bigint) =>
    concatBytes(p("h"), depthBytes(depth), pathBytes(depth, path), u64be(MAX_U64 - rev)),
  state: (commitment: Uint8Array) => concatBytes(p("s"), commitment),
  salt: (commitment: Uint8Array) => concatBytes(p("k"), commitment),
  keyEvent: (commitment: Uint8Array, index: bigint | number) => concatBytes(p("v"), commitment, u64be(index)),
  keyEventRange: (commitment: Uint8Array) => ({
    gte: concatBytes(p("v"), commitment),
    lt: concatBytes(p("v"), commitment, Uint8Array.of(0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff)),
  }),
  codeIndex: (mac: Uint8Array) => concatBytes(p("i"), mac),
  participant: (id: string) => concatBytes(p("p"), utf8(id)),
  participantRange: { gte: p("p"), lt: p("q") },
  token: (hash: Uint8Array) => concatBytes(p("t"), hash),
  tokenRange: { gte: p("t"), lt: p("u") },
  checkpoint: (size: bigint | number) => concatBytes(p("c"), u64be(size)),
  anchor: (size: bigint | number) => concatBytes(p("a"), u64be(size)),
  anchorRange: { gte: p("a"), lt: p("b") },
  idempotency: (actor: string, key: string) => concatBytes(p("d"), utf8(actor), Uint8Array.of(0), utf8(key)),
  meta: p("M"),
};

function depthBytes(depth: number): Uint8Array {
  return Uint8Array.of(depth >> 8, depth & 0xff);
}

/** The first `depth` bits of path, the rest of the last byte zeroed. */
export function pathBytes(depth: number, path: Uint8Array): Uint8Array {
  const n = Math.ceil(depth / 8);
  const out = path.slice(0, n);
  if (depth % 8) out[n - 1]! &= (0xff << (8 - (depth % 8))) & 0xff;
  return out;
}
