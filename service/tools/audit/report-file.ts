/**
 * Writes an audit report as `JSON.stringify(report, null, 2)` would, byte for
 * byte, but one array element at a time. A log anchored every 30 s has about
 * a million anchors a year, each a check in the report: as one string, the
 * report of 1.2 million would pass V8's longest string (2^29 characters), and
 * the audit would fail at its very end.
 */
import { closeSync, openSync, writeSync } from "node:fs";

/** Lines written to the file at once. */
const CHUNK = 1 << 20;

/** An array, or a list that is written as one (the report's AnchorChecks: iterable, with a length, `toJSON` an array). */
function isList(v: unknown): v is Iterable<unknown> & { length: number } {
  return (
    Array.isArray(v) ||
    (typeof v === "object" && v !== null && Symbol.iterator in v && typeof (v as { length?: unknown }).length === "number")
  );
}

export function writeReportFile(file: string, report: object): void {
  const fd = openSync(file, "w");
  try {
    let buffered = "";
    const out = (s: string): void => {
      buffered += s;
      if (buffered.length >= CHUNK) {
        writeSync(fd, buffered);
        buffered = "";
      }
    };
    // `value` pretty-printed at `depth` levels of two spaces, as JSON.stringify nests it.
    const nested = (value: unknown, depth: number): string => JSON.stringify(value, null, 2).replaceAll("\n", `\n${"  ".repeat(depth)}`);
    const fields = Object.entries(report).filter(([, v]) => v !== undefined && typeof v !== "function");
    out("{");
    fields.forEach(([key, value], i) => {
      out(`${i === 0 ? "" : ","}\n  ${JSON.stringify(key)}: `);
      if (isList(value) && value.length > 0) {
        out("[");
        let j = 0;
        for (const v of value) out(`${j++ === 0 ? "" : ","}\n    ${nested(v === undefined ? null : v, 2)}`);
        out("\n  ]");
      } else out(nested(value, 1));
    });
    out(fields.length > 0 ? "\n}\n" : "}\n");
    writeSync(fd, buffered);
  } finally {
    closeSync(fd);
  }
}
