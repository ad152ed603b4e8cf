/** What a data directory takes on disk, for the figures that report bytes per entry. */
import { readdirSync, statSync } from "node:fs";
import path from "node:path";

/** Bytes of every file under `root`, read while a service may still be writing there. */
export function bytesUnder(root: string): number {
  let total = 0;
  for (const e of readdirSync(root, { withFileTypes: true, recursive: true })) {
    if (!e.isFile()) continue;
    try {
      total += statSync(path.join(e.parentPath, e.name)).size;
    } catch {
      // LevelDB deleted it since the listing (a compaction's input).
    }
  }
  return total;
}
