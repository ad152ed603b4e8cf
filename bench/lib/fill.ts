/**
 * Fills a ledger with issue + sell pairs from concurrent clients, each sending
 * its next batch once the previous one is durable (as an HTTP client does).
 * Shared by the benchmarks that need a large log.
 */
import path from "node:path";
import { Ledger, type LedgerOptions } from "../../service/store/ledger.js";
import { loadSecrets } from "../../service/store/secrets.js";

/**
 * Opens a new ledger for a benchmark and registers the issuer the fills
 * submit as. With `serviceDataDir`, the layout a service process opens
 * (ledger/ and secrets/ in it); otherwise `dir` with fixed throwaway keys.
 * The map is updated on a thread of its own, as the service's default
 * (MAP_THREAD) has it, unless `mapThread` is false.
 */
export async function openBenchLedger(
  o: { origin: string; mapCacheSize?: number; mapThread?: boolean } & ({ dir: string } | { serviceDataDir: string }),
): Promise<Ledger> {
  const ledger = await Ledger.open({ origin: o.origin, mapCacheSize: o.mapCacheSize, mapThread: o.mapThread ?? true, ...benchKeys(o) });
  await ledger.submit({ actor: "operator", requests: [{ type: "participant", id: "acme", role: "issuer", name: "Acme" }] });
  return ledger;
}

function benchKeys(o: { dir: string } | { serviceDataDir: string }): Pick<LedgerOptions, "dir" | "signingSeed" | "pepper"> {
  if ("dir" in o) return { dir: o.dir, signingSeed: new Uint8Array(32).fill(1), pepper: new Uint8Array(32).fill(2) };
  const secrets = loadSecrets(o.serviceDataDir);
  return { dir: path.join(o.serviceDataDir, "ledger"), signingSeed: secrets.signingSeed, pepper: secrets.pepper };
}

export interface FillOptions {
  /** Events to append (pairs: half issues, half sales). */
  total: number;
  perBatch: number;
  clients: number;
  /** Called after each durable batch (serialized), e.g. to anchor now and then. */
  afterBatch?: (ledger: Ledger) => Promise<void>;
  onProgress?: (appended: number, seconds: number) => void;
}

/** The code of the i-th key a fill issues (so a later benchmark can look keys up). */
export const benchCode = (i: number): string => `BENCH-${i.toString(36).toUpperCase().padStart(8, "0")}`;

export async function fillLedger(ledger: Ledger, o: FillOptions): Promise<{ appended: number; seconds: number }> {
  const started = performance.now();
  let appended = 0;
  let keyNo = 0;
  let reported = 0;
  let after: Promise<void> = Promise.resolve();
  async function client(): Promise<void> {
    while (keyNo * 2 < o.total) {
      const requests: unknown[] = [];
      for (let i = 0; i < o.perBatch / 2 && keyNo * 2 < o.total; i++) {
        const n = keyNo++;
        requests.push({ type: "issue", code: benchCode(n), sku: "sku-1" }, { type: "sell", code: benchCode(n), order: `order-${n}` });
      }
      const r = await ledger.submit({ actor: "acme", requests });
      appended += r.results.filter((x) => x.ok).length;
      if (o.afterBatch) {
        after = after.then(() => o.afterBatch!(ledger));
        await after;
      }
      if (appended - reported >= 100_000) {
        reported = appended;
        o.onProgress?.(appended, (performance.now() - started) / 1000);
      }
    }
  }
  await Promise.all(Array.from({ length: o.clients }, client));
  return { appended, seconds: (performance.now() - started) / 1000 };
}

/** A progress line: rewritten in place on a terminal, one line each when the output is a file. */
export function progress(text: string): void {
  process.stderr.write(process.stderr.isTTY ? `\r${text}` : `${text}\n`);
}

/**
 * Waits until LevelDB's background compactions after a bulk fill are done (its
 * compaction statistics stop changing), so that what is measured next is the
 * loaded store and not the tail of loading it.
 */
export async function settle(db: Ledger["db"], quietMs = 3000): Promise<number> {
  const started = performance.now();
  let before = db.getProperty("leveldb.stats");
  for (;;) {
    await new Promise((r) => setTimeout(r, quietMs));
    const now = db.getProperty("leveldb.stats");
    if (now === before) return (performance.now() - started) / 1000;
    before = now;
  }
}
