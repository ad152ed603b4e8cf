/**
 * The thread that updates the ledger's map (map-thread.ts starts it): a
 * MapStore on the ledger's LevelDB handle (open-db.ts shares it between
 * threads) with its own node cache, doing for each group what the ledger's
 * thread would do in `InThreadMapUpdater`. It never writes: it answers a
 * group's root and packed records, and the ledger writes them in its batch.
 *
 * Messages come in the sequencer's order. Updates are made one after the
 * other, each staged as soon as it is made (map-updater.ts says why), and
 * its writes kept until the ledger says its batch is durable (`settle`).
 */
import { parentPort, workerData } from "node:worker_threads";
import { errorText } from "../chain/redact.js";
import type { MapUpdate, MapWrite } from "../core/map/sparse-map.js";
import { MapStore, type Db } from "./map-store.js";
import type { FromMapWorker, MapWorkerData, ToMapWorker } from "./map-thread.js";
import { packMapOps } from "./map-updater.js";
import { openDb } from "./open-db.js";
import { ownThreadId } from "./os-thread.js";

const port = parentPort!;
const data = workerData as MapWorkerData;
const send = (m: FromMapWorker, transfer?: ArrayBuffer[]): void => port.postMessage(m, transfer);

let db: Db;
try {
  db = await openDb(data.dir, "reader");
} catch (e) {
  send({ type: "failed", message: errorText(e) });
  process.exit(1);
}
const map = new MapStore(db, data.cacheSize);
/** Staged, not yet durable, by group id. */
const staged = new Map<number, MapWrite[]>();
/** The update being made: the next one starts once it is staged. */
let last: Promise<void> = Promise.resolve();

async function update(id: number, packed: Uint8Array, rev: bigint): Promise<void> {
  const updates: MapUpdate[] = [];
  for (let at = 0; at < packed.length; at += 64)
    updates.push({ key: packed.subarray(at, at + 32), stateHash: packed.subarray(at + 32, at + 64) });
  try {
    const { root, writes } = await map.prepare(updates);
    const ops = packMapOps(writes, Number(rev));
    map.stage(writes, rev);
    staged.set(id, writes);
    // Its buffer is its own (packMapOps allocates it), so it moves without a copy, the view with it.
    send({ type: "updated", id, root, ops }, [ops.buffer as ArrayBuffer]);
  } catch (e) {
    send({ type: "refused", id, message: errorText(e), code: (e as { code?: unknown } | null)?.code?.toString() });
  }
}

port.on("message", (m: ToMapWorker) => {
  switch (m.type) {
    case "update":
      last = last.then(() => update(m.id, m.updates, m.rev));
      return;
    case "settle": {
      const writes = staged.get(m.id);
      if (!writes) return;
      staged.delete(m.id);
      map.settle(writes);
      return;
    }
    case "close":
      port.removeAllListeners("message");
      void db.close().finally(() => send({ type: "closed" }));
  }
});
send({ type: "ready", tid: ownThreadId() });
