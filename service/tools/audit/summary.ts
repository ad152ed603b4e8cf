/**
 * What `scripts/audit.ts` prints when it is done: a few lines whatever the
 * log's size. The report file holds everything; a log anchored every 30 s
 * has about a million anchors a year, and listing each size here made a
 * line of megabytes.
 */
import type { AuditReport } from "./auditor.js";

/** Findings printed; the rest are counted, and all are in the report file. */
const PRINTED_FINDINGS = 50;
/** Anchored sizes printed at each end of the list. */
const PRINTED_SIZES = 5;

export function summaryLines(r: AuditReport, out: string): string[] {
  const lines = [
    `log ${r.log.origin} (${r.log.base}), ${r.log.size} entries, ${r.keys} keys`,
    `verifier key ${r.log.verifierKeyPinned ? "pinned" : "as published by the log (pass --verifier-key to pin it)"}`,
    `chain: ${r.chain ? `${r.chain.chainId}, contract ${r.chain.contract} from block ${r.chain.fromBlock}` : "not checked"}`,
    `anchors checked: ${r.anchors.length}${r.anchors.length ? ` (sizes ${sizeList(r.anchors.length, (i) => r.anchors.size(i))})` : ""}`,
    `checkpoints checked: ${r.checkpoints.length}`,
    `entries replayed: ${r.entriesAudited}`,
  ];
  for (const w of r.warnings) lines.push(`warning: ${w}`);
  if (r.ok) {
    lines.push(
      "",
      `CLEAN: every anchored and signed root matches the replayed log, and no rule is broken${r.warnings.length ? " (but see the warnings above)" : ""}.`,
    );
  } else {
    lines.push(
      "",
      `FINDINGS: ${Object.entries(r.findingCounts)
        .map(([k, v]) => `${k} ${v}`)
        .join(", ")}`,
    );
    for (const f of r.findings.slice(0, PRINTED_FINDINGS))
      lines.push(
        `  ${f.code}${f.index !== undefined ? ` at entry ${f.index}` : f.size !== undefined ? ` at size ${f.size}` : ""}: ${f.detail}`,
      );
    const total = Object.values(r.findingCounts).reduce((a, b) => a + b, 0);
    if (total > PRINTED_FINDINGS) lines.push(`  … and ${total - PRINTED_FINDINGS} more in ${out}`);
  }
  lines.push("", `report: ${out}`);
  return lines;
}

/** Every size of a short list; the first and last few of a long one. */
function sizeList(count: number, size: (i: number) => number): string {
  const sizes = (from: number, to: number): string => Array.from({ length: to - from }, (_, k) => size(from + k)).join(", ");
  if (count <= 2 * PRINTED_SIZES) return sizes(0, count);
  return `${sizes(0, PRINTED_SIZES)}, … ${count - 2 * PRINTED_SIZES} more …, ${sizes(count - PRINTED_SIZES, count)}`;
}
