import { expect } from "chai";
import fc from "fast-check";
import { readFileSync } from "node:fs";
import path from "node:path";
import { AnchorChecks } from "../../service/tools/audit/anchor-checks.js";
import { writeReportFile } from "../../service/tools/audit/report-file.js";
import { cleanup, tempDir } from "../helpers/ledger.js";

describe("audit report file", () => {
  const dir = tempDir("keyproof-report-");
  after(() => cleanup(dir));
  const file = path.join(dir, "report.json");
  const written = (report: object): string => {
    writeReportFile(file, report);
    return readFileSync(file, "utf8");
  };

  it("is what JSON.stringify(report, null, 2) gives, byte for byte (property)", () => {
    fc.assert(
      fc.property(fc.dictionary(fc.string(), fc.oneof(fc.jsonValue(), fc.array(fc.jsonValue()))), (report) => {
        expect(written(report)).to.equal(`${JSON.stringify(report, null, 2)}\n`);
      }),
      { numRuns: 300 },
    );
  });

  it("writes a report's shape: nested objects, empty and long arrays, fields left undefined", () => {
    const check = (size: number) => ({
      source: `anchor tx 0x${size}`,
      size,
      logRoot: "ab",
      mapRoot: "cd",
      logRootOk: true,
      mapRootOk: null,
      txHash: "0x1",
    });
    const report = {
      type: "keyproof/audit/v1",
      ok: false,
      log: { base: "http://x", size: 3, nested: { deeper: [1, { a: [] }] } },
      chain: null,
      warnings: [],
      skipped: undefined,
      anchors: Array.from({ length: 3000 }, (_, i) => check(i + 1)),
      findingCounts: { FORK: 1 },
      findings: [{ code: "FORK", size: 2, detail: 'a "quoted" \\ detail\nwith a newline' }],
    };
    expect(written(report)).to.equal(`${JSON.stringify(report, null, 2)}\n`);
  });

  it("writes the audit's packed anchor checks as the array JSON.stringify makes of them", () => {
    const anchors = new AnchorChecks();
    for (let i = 1; i <= 2500; i++) {
      const hex = (n: number): string => `0x${n.toString(16).padStart(64, "0")}`;
      anchors.setResult(
        anchors.push({ size: BigInt(i), logRoot: hex(i), mapRoot: hex(i + 1), blockNumber: i, txHash: hex(i + 2) }),
        i % 3 === 0,
        null,
      );
    }
    const report = { type: "keyproof/audit/v1", anchors, empty: new AnchorChecks(), findings: [] };
    const text = written(report);
    expect(text).to.equal(`${JSON.stringify(report, null, 2)}\n`);
    const parsed = JSON.parse(text) as { anchors: { size: number; logRootOk: boolean; mapRootOk: null }[]; empty: unknown[] };
    expect(parsed.anchors).to.have.length(2500);
    expect(parsed.anchors[2]).to.deep.include({ size: 3, logRootOk: true, mapRootOk: null });
    expect(parsed.empty).to.deep.equal([]);
  });
});
