/**
 * The ledger's meta record (`K.meta`): the durable log size and the newest
 * event time recorded, written by every batch beside its checkpoint, read
 * when the ledger opens and under a proof's snapshot (which size the nodes
 * read belong to).
 */
import { fromUtf8, utf8 } from "../core/bytes.js";

export interface Meta {
  size: number;
  lastTime: string;
}

export function encodeMeta(meta: Meta): Uint8Array {
  return utf8(JSON.stringify(meta));
}

/** The meta record, or a fresh log's when there is none. */
export function decodeMeta(raw: Uint8Array | undefined): Meta {
  return raw ? (JSON.parse(fromUtf8(raw)) as Meta) : { size: 0, lastTime: "1970-01-01T00:00:00.000Z" };
}
