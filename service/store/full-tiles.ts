/**
 * Full C2SP hash tiles, stored whole as they complete. A tile at tile level L
 * holds 256 consecutive node hashes of the tree's level 8L; read from the
 * node records it is a range read of 256 values (about 1 ms at 1M entries,
 * docs/figures.md, fifteenth session), stored whole it is one read. A full
 * tile never changes, so it is written once, in the batch of the group that
 * completes it.
 *
 * The rows of the tiles being filled run ahead of the durable log with the
 * sequencer's working state (group-prepare.ts): a group works on a copy and
 * keeps it only when it is prepared whole.
 */
import { concatBytes } from "../core/bytes.js";
import type { StoredNode } from "../core/log/compact-range.js";
import { TILE_HEIGHT, TILE_WIDTH } from "../core/log/tiles.js";

/** Reads `count` node hashes of `level` from `start` (the store's node records). */
export type ReadLevel = (level: number, start: bigint, count: number) => Promise<Uint8Array[]>;

export interface FullTile {
  /** The tile level (the tree level over TILE_HEIGHT). */
  tileLevel: number;
  index: bigint;
  /** The 256 hashes, joined. */
  hashes: Uint8Array;
}

const WIDTH = BigInt(TILE_WIDTH);

export class FullTiles {
  /** By tile level: the hashes of the tile being filled, in index order. */
  private constructor(private readonly rows: Uint8Array[][]) {}

  /** The rows of a log of `size`: the partial tile of each level, read back from the store. */
  static async resume(size: bigint, read: ReadLevel): Promise<FullTiles> {
    const rows: Uint8Array[][] = [];
    // levelSize: the nodes the log has at tree level TILE_HEIGHT * tl.
    for (let tl = 0, levelSize = size; levelSize > 0n; tl++, levelSize >>= BigInt(TILE_HEIGHT)) {
      const filled = Number(levelSize % WIDTH);
      rows.push(filled === 0 ? [] : await read(TILE_HEIGHT * tl, levelSize - BigInt(filled), filled));
    }
    return new FullTiles(rows);
  }

  clone(): FullTiles {
    return new FullTiles(this.rows.map((r) => [...r]));
  }

  /**
   * Takes a node the log completed (nodes arrive in index order at each
   * level, as CompactRange.append reports them); returns the tile it fills.
   */
  add(node: StoredNode): FullTile | undefined {
    if (node.level % TILE_HEIGHT !== 0) return undefined;
    const tl = node.level / TILE_HEIGHT;
    while (this.rows.length <= tl) this.rows.push([]);
    const row = this.rows[tl]!;
    if (BigInt(row.length) !== node.index % WIDTH) {
      throw new Error(`log node ${node.level}/${node.index} is not the next of its tile (${row.length} held)`);
    }
    row.push(node.hash);
    if (row.length < TILE_WIDTH) return undefined;
    this.rows[tl] = [];
    return { tileLevel: tl, index: node.index / WIDTH, hashes: concatBytes(...row) };
  }
}
