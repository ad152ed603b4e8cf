/** C2SP tlog-tiles paths: /tile/<L>/<N>[.p/<W>] and /tile/entries/<N>[.p/<W>]. */
import { TILE_WIDTH } from "../core/log/tiles.js";

export interface TilePath {
  level: number | "entries";
  index: bigint;
  width: number;
}

/** Parses the part after /tile/, e.g. "0/x001/234.p/17"; undefined when malformed. */
export function parseTilePath(p: string): TilePath | undefined {
  const m = /^(entries|[0-9]|[1-5][0-9]|6[0-3])\/((?:x\d{3}\/)*\d{3})(?:\.p\/(\d{1,3}))?$/.exec(p);
  if (!m) return undefined;
  const index = BigInt(m[2]!.replace(/x|\//g, ""));
  // One path per tile: "x000/001" names tile 1 too, but is not its encoding.
  if (formatTileIndex(index) !== m[2]) return undefined;
  const width = m[3] === undefined ? TILE_WIDTH : Number(m[3]);
  if (width < 1 || width > TILE_WIDTH - 1 + (m[3] === undefined ? 1 : 0)) return undefined;
  if (m[3] !== undefined && String(width) !== m[3]) return undefined; // no leading zeros
  return { level: m[1] === "entries" ? "entries" : Number(m[1]), index, width };
}

/** Encodes a tile index as C2SP path elements (x001/x234/067). */
export function formatTileIndex(n: bigint): string {
  const digits = n.toString().padStart(3, "0");
  const padded = digits.padStart(Math.ceil(digits.length / 3) * 3, "0");
  const groups = padded.match(/.../g)!;
  return groups.map((g, i) => (i < groups.length - 1 ? `x${g}` : g)).join("/");
}

/**
 * A C2SP entry bundle: each entry after its length as two big-endian bytes,
 * written into one buffer (no part per entry to join afterwards).
 */
export function entryBundle(entries: readonly Uint8Array[]): Buffer {
  let total = 0;
  for (const e of entries) {
    if (e.length > 0xffff) throw new RangeError(`an entry of ${e.length} bytes does not fit a tile's 16-bit length`);
    total += 2 + e.length;
  }
  const out = Buffer.allocUnsafe(total);
  let at = 0;
  for (const e of entries) {
    out.writeUInt16BE(e.length, at);
    out.set(e, at + 2);
    at += 2 + e.length;
  }
  return out;
}
