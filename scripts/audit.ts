/**
 * Audits a KeyProof log against its on-chain anchors, as a regulator does:
 * every entry replayed, both roots recomputed at every anchored size, every
 * rule re-checked (see service/tools/audit/auditor.ts).
 *
 *   npm run audit -- --log https://keys.example/ --rpc-url https://rpc.example --contract 0x… [--verifier-key KEY]
 *
 * Exit codes: 0 clean, 1 findings (listed, and in the JSON report), 2 the audit could not run.
 */
import { readFileSync } from "node:fs";
import { Presets, SingleBar } from "cli-progress";
import { Command } from "commander";
import { JsonRpcProvider, getAddress } from "ethers";
import { z } from "zod";
import { ETH_ADDRESS } from "../service/core/bundle/schema.js";
import { logIdOf } from "../service/core/bundle/verify.js";
import { KeyProofApi } from "../service/client/api.js";
import { AnchorClient } from "../service/chain/contract.js";
import { errorText, redactUrl } from "../service/chain/redact.js";
import { audit, type AuditedChain } from "../service/tools/audit/auditor.js";
import { writeReportFile } from "../service/tools/audit/report-file.js";
import { summaryLines } from "../service/tools/audit/summary.js";
import { fail, parseOptions } from "./cli.js";

const program = new Command("audit")
  .description("Replay a KeyProof log against its on-chain anchors and report every broken rule or root.")
  .requiredOption("--log <url>", "the log's base URL (it serves /v1/log, /checkpoint, /v1/entries)")
  .option("--rpc-url <url>", "a JSON-RPC endpoint of the chain the log anchors to")
  .option("--contract <address>", "the anchor contract (required with --rpc-url)")
  .option("--from-block <n>", "the first block to search for Anchored events (the contract's deployment block)", "0")
  .option("--verifier-key <key>", "the log's note verifier key you trust (default: the one the log publishes, reported as unpinned)")
  .option("--checkpoint <file...>", "signed checkpoints collected elsewhere (e.g. from evidence bundles) to check against the log")
  .option("--no-chain", "audit the log alone, without anchors (reported)")
  .option("--out <file>", "where to write the JSON report", "keyproof-audit.json")
  .option("--no-progress", "no progress bar");

const options = z
  .object({
    log: z.url(),
    rpcUrl: z.url().optional(),
    contract: z.string().regex(ETH_ADDRESS, "--contract is not an Ethereum address").optional(),
    fromBlock: z.coerce.number().int().nonnegative(),
    verifierKey: z.string().min(1).optional(),
    checkpoint: z.array(z.string()).optional(),
    chain: z.boolean(),
    out: z.string().min(1),
    progress: z.boolean(),
  })
  .refine(
    (o) => !o.chain || (o.rpcUrl !== undefined && o.contract !== undefined),
    "give --rpc-url and --contract (or --no-chain to skip the anchors)",
  );

async function main(): Promise<void> {
  const o = parseOptions(program, options);
  const checkpoints = (o.checkpoint ?? []).map((file) => {
    try {
      return { source: file, note: readFileSync(file, "utf8") };
    } catch (e) {
      fail(`cannot read checkpoint ${file}: ${(e as Error).message}`);
    }
  });
  const api = new KeyProofApi(o.log);
  const bar =
    o.progress && process.stderr.isTTY
      ? new SingleBar({ format: "{phase} {bar} {percentage}% | {value}/{total} | {eta}s left" }, Presets.shades_classic)
      : null;
  let barPhase = "";
  const onProgress = (p: { phase: string; done: number; total: number }): void => {
    if (!bar) return;
    if (barPhase !== p.phase) {
      if (barPhase) bar.stop();
      bar.start(p.total, 0, { phase: p.phase.padEnd(7) });
      barPhase = p.phase;
    }
    bar.update(p.done);
  };

  let provider: JsonRpcProvider | null = null;
  try {
    let anchors = null;
    let chain: AuditedChain | undefined;
    if (o.chain) {
      provider = new JsonRpcProvider(o.rpcUrl, undefined, { staticNetwork: true });
      const contract = getAddress(o.contract!);
      const chainId = Number((await provider.getNetwork()).chainId);
      if ((await provider.getCode(contract)) === "0x") fail(`no contract at ${contract} on chain ${chainId} (${redactUrl(o.rpcUrl!)})`);
      chain = { chainId, contract, fromBlock: o.fromBlock };
      const info = await api.logInfo();
      const client = new AnchorClient(contract, provider);
      // Read as the audit goes through them, not held all at once (a million a year at one anchor every 30 s).
      anchors = client.streamAnchoredEvents(logIdOf(info.origin), o.fromBlock, 10_000, (done, total) =>
        onProgress({ phase: "blocks", done, total }),
      );
    }
    const report = await audit({
      api,
      anchors,
      ...(chain ? { chain } : {}),
      ...(o.verifierKey ? { verifierKey: o.verifierKey } : {}),
      checkpoints,
      onProgress,
    });
    bar?.stop();
    writeReportFile(o.out, report);
    console.log(summaryLines(report, o.out).join("\n"));
    process.exitCode = report.ok ? 0 : 1;
  } catch (e) {
    bar?.stop();
    fail(`audit could not run: ${errorText(e)}`);
  } finally {
    provider?.destroy();
  }
}

main().catch((e: unknown) => fail(errorText(e)));
