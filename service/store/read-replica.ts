/**
 * The ledger's reads from another thread of the same process: the store is
 * LevelDB's one handle, shared (open-db.ts), and what the ledger keeps in
 * memory for its readers (the newest checkpoint, the map views kept for
 * anchored sizes, the anchors' index) is followed from the ledger's updates
 * (`Ledger.follow`), applied in the order the ledger made them.
 *
 * A replica never writes. It can be behind the ledger by the updates on
 * their way, never ahead: every read it answers is of durable data, proved
 * against a checkpoint it was told of.
 */
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
    } catch (e) {
      await db.close().catch(() => undefined);
      throw e;
    }
    replica.viewAt(latest.checkpoint.size);
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
        this.latest = u.latest;
        this.viewAt(u.latest.checkpoint.size);
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
   * Keeps a view of the map at `size` when the store still holds exactly
   * that size; when a newer batch has landed already, proofs at `size` read
   * the map's history instead (map-store.ts), as the ledger's do for a size
   * it kept no view of.
   */
  private viewAt(size: bigint): void {
    const snapshot = this.db.snapshot();
    let held: bigint | undefined;
    try {
      held = BigInt(decodeMeta(readOne(this.db, K.meta, { snapshot })).size);
    } finally {
      if (held === size) this.map.captureView(size, snapshot);
      else void snapshot.close().catch(() => undefined);
    }
  }

  async close(): Promise<void> {
    await this.map.closeViews();
    await this.db.close();
  }
}
