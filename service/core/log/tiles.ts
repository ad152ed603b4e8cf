/** The C2SP tlog-tiles layout: a tile is 2^8 = 256 nodes of one tree level, tile level L being tree level 8L. */
export const TILE_HEIGHT = 8;
export const TILE_WIDTH = 1 << TILE_HEIGHT;
