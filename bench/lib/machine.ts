/**
 * How fast this machine's one thread is right now, for figures taken on
 * different days to be compared: the shared 2-core VM has run two to three
 * times slower from one session to the next (docs/figures.md, sixth session).
 */
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

/** One line on the machine: cores, model, and its hash speed. */
export function machineLine(): string {
  const cpus = os.cpus();
  return `${cpus.length} cores (${cpus[0]?.model.trim() ?? "unknown"}), ${hashSpeed().toFixed(2)} µs per SHA-256 of 65 bytes`;
}
