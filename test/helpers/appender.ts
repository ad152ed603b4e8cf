/**
 * The crash test's writer: appends issue + sell batches of random sizes
 * forever and prints one JSON line per batch once it is durable. Run in a
 * child process through spawnHelper; the parent SIGKILLs it at random.
 */
import { openLedger } from "./ledger.js";

export async function appendForever([dir, firstKey]: string[]): Promise<void> {
  const ledger = await openLedger(dir!);
  if (!ledger.participant("acme")) {
    await ledger.submit({ actor: "operator", requests: [{ type: "participant", id: "acme", role: "issuer", name: "Acme" }] });
  }
  let k = Number(firstKey);
  for (;;) {
    const n = 1 + Math.floor(Math.random() * 300);
    const requests = [];
    for (let i = 0; i < n; i++) {
      const code = `CRASH-${k++}-KEY`;
      requests.push({ type: "issue", code, sku: "s" }, { type: "sell", code, order: `o-${k}` });
    }
    const answer = await ledger.submit({ actor: "acme", requests });
    const ok = answer.results.flatMap((r) => (r.ok ? [[r.index, r.leafHash]] : []));
    process.stdout.write(`${JSON.stringify({ nextKey: k, checkpoint: answer.checkpoint, events: ok })}\n`);
  }
}
