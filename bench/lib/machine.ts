/**
 * How fast this machine's one thread is right now, for figures taken on
 * different days to be compared: the shared 2-core VM has run two to three
 * times slower from one session to the next (docs/figures.md, sixth session).
 */
import { readFileSync } from "node:fs";
import os from "node:os";
import { sha256 } from "../../service/core/index.js";

/** Microseconds per SHA-256 of 65 bytes (a map node's input), best of three runs of 200,000. */
export function hashSpeed(): number {
  const input = new Uint8Array(65);
  let best = Infinity;
  for (let run = 0; run < 3; run++) {
    const t = performance.now();
    for (let i = 0; i < 200_000; i++) {
      input[0] = i;
      sha256(input);
    }
    best = Math.min(best, ((performance.now() - t) * 1000) / 200_000);
  }
  return best;
}

/**
 * When Linux starts writing dirty pages back on its own
 * (vm.dirty_background_bytes, or _ratio when that is 0). It sets how long a
 * synced write waits while LevelDB syncs a table it wrote (docs/figures.md,
 * thirteenth session), so a write figure is read with it.
 */
export function writebackLine(bytes: number, ratio: number): string {
  return bytes > 0
    ? `background writeback from ${+(bytes / 2 ** 20).toFixed(1)} MiB dirty`
    : `background writeback from ${ratio} % of memory dirty`;
}

function readSysctl(name: string): number | undefined {
  try {
    return Number(readFileSync(`/proc/sys/vm/${name}`, "utf8").trim());
  } catch {
    return undefined; // not Linux
  }
}

/**
 * One line on the machine: cores, model, the Node.js that runs the benchmark
 * (and the service it starts: the same binary), its hash speed, and the
 * kernel's writeback threshold. Node 24 serves the same code faster than
 * Node 22 here (docs/figures.md, twenty-seventh session).
 */
export function machineLine(): string {
  const cpus = os.cpus();
  const bytes = readSysctl("dirty_background_bytes");
  const ratio = readSysctl("dirty_background_ratio");
  const writeback = bytes === undefined || ratio === undefined ? "" : `, ${writebackLine(bytes, ratio)}`;
  return `${cpus.length} cores (${cpus[0]?.model.trim() ?? "unknown"}), Node ${process.versions.node}, ${hashSpeed().toFixed(2)} µs per SHA-256 of 65 bytes${writeback}`;
}
