/**
 * The thread that builds evidence bundles (bundle-thread.ts starts it): a
 * read replica of the ledger (store/read-replica.ts) following the ledger's
 * updates, and `buildBundle` over it. Answers carry the bundle as JSON text,
 * or the error a client is to get.
 */
import { parentPort, workerData } from "node:worker_threads";
import { buildBundle } from "./bundle.js";
import { replyOf, type BundleWorkerData, type ToBundleWorker } from "./bundle-thread.js";
import { errorText } from "./chain/redact.js";
import { ownThreadId } from "./store/os-thread.js";
import { ReadReplica } from "./store/read-replica.js";

const port = parentPort!;
const data = workerData as BundleWorkerData;
// Updates that come while the replica opens are applied, in order, once it is open.
const early: ToBundleWorker[] = [];
let replica: ReadReplica | null = null;

function handle(m: ToBundleWorker, r: ReadReplica): void {
  switch (m.type) {
    case "update":
      r.apply(m.update);
      return;
    case "bundle":
      void replyOf(m.id, async () => JSON.stringify(await buildBundle(r, m.log, m.code))).then((reply) => port.postMessage(reply));
      return;
    case "close":
      port.off("message", onMessage);
      void r.close().finally(() => port.postMessage({ type: "closed" }));
  }
}

function onMessage(m: ToBundleWorker): void {
  if (replica) handle(m, replica);
  else early.push(m);
}
port.on("message", onMessage);

try {
  replica = await ReadReplica.open(data.dir, data.pepper, data.latest);
} catch (e) {
  port.postMessage({ type: "failed", message: errorText(e) });
  port.off("message", onMessage);
}
if (replica) {
  for (const m of early.splice(0)) handle(m, replica);
  port.postMessage({ type: "ready", tid: ownThreadId() });
}
