import { expect } from "chai";
import { AnchorChecks } from "../../service/tools/audit/anchor-checks.js";
import type { AuditReport } from "../../service/tools/audit/auditor.js";
import { summaryLines } from "../../service/tools/audit/summary.js";

describe("audit summary", () => {
  const checks = (count: number): AnchorChecks => {
    const out = new AnchorChecks();
    const hash = `0x${"ab".repeat(32)}`;
    for (let i = 1; i <= count; i++) out.push({ size: BigInt(i * 30), logRoot: hash, mapRoot: hash, blockNumber: i, txHash: hash });
    return out;
  };
  const report = (anchors: number, findings = 0): AuditReport => ({
    type: "keyproof/audit/v1",
    ok: findings === 0,
    log: { base: "http://x/", origin: "o", logId: "0x", verifierKey: "k", verifierKeyPinned: true, size: anchors * 30 },
    chain: { chainId: 31337, contract: "0xc", fromBlock: 0 },
    warnings: [],
    entriesAudited: anchors * 30,
    keys: 1,
    anchors: checks(anchors),
    checkpoints: [],
    findingCounts: findings ? { FORK: findings } : {},
    findings: Array.from({ length: Math.min(findings, 1000) }, (_, i) => ({ code: "FORK" as const, size: i, detail: `fork ${i}` })),
    startedAt: "",
    finishedAt: "",
  });
  const anchorsLine = (r: AuditReport): string => summaryLines(r, "out.json").find((l) => l.startsWith("anchors checked"))!;

  it("lists every anchored size of a short list", () => {
    expect(anchorsLine(report(3))).to.equal("anchors checked: 3 (sizes 30, 60, 90)");
    expect(anchorsLine(report(0))).to.equal("anchors checked: 0");
  });

  it("a year of anchors (a million) in one short line: the first and last few sizes", () => {
    const line = anchorsLine(report(1_000_000));
    expect(line).to.equal(
      "anchors checked: 1000000 (sizes 30, 60, 90, 120, 150, … 999990 more …, 29999880, 29999910, 29999940, 29999970, 30000000)",
    );
  });

  it("prints the first 50 findings and counts the rest", () => {
    const lines = summaryLines(report(2, 120), "out.json");
    expect(lines.filter((l) => l.startsWith("  FORK"))).to.have.length(50);
    expect(lines).to.include("  … and 70 more in out.json");
    expect(lines).to.include("FINDINGS: FORK 120");
    expect(summaryLines(report(2), "out.json")).to.include("report: out.json");
  });
});
