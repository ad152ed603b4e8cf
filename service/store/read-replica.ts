/**
 * The ledger's reads from another thread of the same process: the store is
 * LevelDB's one handle, shared (open-db.ts), and what the ledger keeps in
 * memory for its readers (the newest checkpoint, the map views kept for
 * anchored sizes, the anchors' index) is followed from the ledger's updates
 * (`Ledger.follow`), applied in the order the ledger made them.
 *
 * A replica never writes. It can be behind the ledger by the updates on
 * their way, or ahead of what the ledger has published by the batch it is
 * publishing (`moveTo`): every read it answers is of durable data, proved
 * against a checkpoint the ledger signed and wrote.
 */
import { fromUtf8 } from "../core/bytes.js";
import { parseCheckpoint } from "../core/note/checkpoint.js";
import { parseNote } from "../core/note/note.js";
import { K } from "./keys.js";
import { LedgerReads, type LatestCheckpoint, type LedgerUpdate } from "./ledger-reads.js";
import type { Db } from "./map-store.js";
import { decodeMeta } from "./meta-record.js";
import { openDb } from "./open-db.js";
import { readOne } from "./reads.js";

export class ReadReplica extends LedgerReads {
  private latest: LatestCheckpoint;

  private constructor(db: Db, pepper: Uint8Array, latest: LatestCheckpoint) {
    // The map's node cache serves the sequencer's updates, which a replica never makes.
    super(db, pepper, 1);
    this.latest = latest;
  }

  /**
   * Joins the store a ledger of this process holds in `dir`, as of `latest`
   * (the ledger's checkpoint when the replica was asked for, updates since
   * then to follow).
   */
  static async open(dir: string, pepper: Uint8Array, latest: LatestCheckpoint): Promise<ReadReplica> {
    const db = await openDb(dir, "reader");
    const replica = new ReadReplica(db, pepper, latest);
    try {
      await replica.anchors.loadReplica();
      await replica.map.openHistory();
    } catch (e) {
      await db.close().catch(() => undefined);
      throw e;
    }
    replica.moveTo(latest);
    return replica;
  }

  get checkpoint(): LatestCheckpoint {
    return this.latest;
  }

  /** Applies one of the ledger's updates (`Ledger.follow`); in order, each once. */
  apply(u: LedgerUpdate): void {
    switch (u.type) {
      case "published":
        if (u.latest.checkpoint.size <= this.size) return;
        this.moveTo(u.latest);
        this.announce();
        return;
      case "pin":
        this.map.pinView(u.size);
        return;
      case "unpin":
        this.map.unpinView(u.size);
        return;
      case "anchor":
        this.anchors.mirror(u.change);
    }
  }

  /**
   * Takes `latest` as this replica's checkpoint, with a view of the map at
   * it. When a newer batch has landed already, the store's own size is taken
   * instead, with the checkpoint written beside it (the ledger publishes it
   * next): a proof at a size without a view reads the map's history, which
   * is kept only for the sizes chosen for anchoring (map-store.ts).
   */
  private moveTo(latest: LatestCheckpoint): void {
    const snapshot = this.db.snapshot();
    let captured = false;
    try {
      const held = BigInt(decodeMeta(readOne(this.db, K.meta, { snapshot })).size);
      if (held > latest.checkpoint.size) {
        const note = fromUtf8(readOne(this.db, K.checkpoint(held), { snapshot })!);
        latest = { note, checkpoint: parseCheckpoint(parseNote(note).text) };
      }
      this.latest = latest;
      if (held === latest.checkpoint.size) {
        this.map.captureView(held, snapshot);
        captured = true;
        this.map.dropViewsBefore(held);
      }
    } finally {
      if (!captured) void snapshot.close().catch(() => undefined);
    }
  }

  async close(): Promise<void> {
    await this.map.closeViews();
    await this.db.close();
  }
}
