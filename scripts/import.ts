/**
 * Imports a card shop's CSV export into a KeyProof log through its API.
 *
 *   KEYPROOF_TOKEN=… npm run import -- keys.csv --api http://127.0.0.1:8080            # issue (code,sku,batch,expires,face)
 *   KEYPROOF_TOKEN=… npm run import -- stock.csv --mode transfer --api …                # to a seller (code,to)
 *   KEYPROOF_TOKEN=… npm run import -- sales.csv --mode sell --api …                    # sales (code,order)
 *   KEYPROOF_TOKEN=… npm run import -- used.csv --mode redeem --api …                   # redemptions (code)
 *   KEYPROOF_TOKEN=… npm run import -- dead.csv --mode void --api …                     # voids (code,reason)
 *
 * Re-running after a crash or Ctrl-C resumes where the last answered batch
 * ended, without duplicating or skipping a row (see service/tools/csv-import.ts).
 * Exit codes: 0 every row imported, 1 some rows bad, duplicated or refused
 * (listed with their line numbers), 2 bad usage or the import could not run.
 */
import { readFileSync, writeFileSync } from "node:fs";
import { SingleBar, Presets } from "cli-progress";
import { Command, Option } from "commander";
import { z } from "zod";
import { ApiError, KeyProofApi } from "../service/client/api.js";
import { errorText } from "../service/chain/redact.js";
import { IMPORT_MODES, ImportError, importCsv, isEncoding, type ImportState } from "../service/tools/csv-import.js";
import { fail, parseOptions } from "./cli.js";

const program = new Command("import")
  .description("Import keys, transfers, sales, redemptions or voids from a CSV file into a KeyProof log, in resumable batches.")
  .argument("<file>", "the CSV file, with a header row")
  .addOption(new Option("--mode <mode>", "what the rows are").choices(IMPORT_MODES).default("issue"))
  .option("--api <url>", "the log's base URL (or KEYPROOF_API)")
  .option("--token-file <file>", "read the participant's bearer token from this file instead of KEYPROOF_TOKEN")
  .option("--batch-size <n>", "rows per request (1 to 10000)", "1000")
  .option("--state <file>", "where progress is kept (default: <file>.<mode>.import-state.json)")
  .option("--restart", "ignore the saved progress and import the file from the top")
  .option("--encoding <label>", "the file's character encoding (gb18030 for a CSV saved by Excel on Chinese Windows, big5, ...)", "utf-8")
  .option("--report <file>", "also write the summary and every problem as JSON")
  .option("--no-progress", "no progress bar")
  .addHelpText(
    "after",
    `
Columns (header names, any order; other columns are ignored):
  issue     code, sku, batch?, expires? (RFC 3339), face?   (an issuer's token)
  transfer  code, to (a participant id)                    (the holder's token)
  sell      code, order                                    (the holder's token)
  redeem    code                                           (the issuer's token)
  void      code, reason                                   (the issuer's or the holder's token)

Environment:
  KEYPROOF_TOKEN  the participant's bearer token (never pass it on the command line)
  KEYPROOF_API    the log's base URL when --api is not given`,
  );

const options = z.object({
  mode: z.enum(IMPORT_MODES),
  api: z.url({ message: "--api (or KEYPROOF_API) must be the log's base URL, like http://127.0.0.1:8080" }),
  tokenFile: z.string().optional(),
  batchSize: z.coerce.number().int().min(1).max(10_000),
  state: z.string().optional(),
  restart: z.boolean().optional(),
  encoding: z.string().refine(isEncoding, "--encoding is not an encoding this tool knows (utf-8, gb18030, big5, ...)"),
  report: z.string().optional(),
  progress: z.boolean(),
});

function readToken(tokenFile: string | undefined): string {
  let token = process.env.KEYPROOF_TOKEN;
  if (tokenFile) {
    try {
      token = readFileSync(tokenFile, "utf8").trim();
    } catch (e) {
      fail(`cannot read --token-file: ${(e as Error).message}`);
    }
  }
  if (!token) fail("no token: set KEYPROOF_TOKEN or pass --token-file");
  return token;
}

function printSummary(state: ImportState, file: string): void {
  const c = state.counts;
  const lines = [
    `${file}: ${c.rows} rows`,
    `  accepted     ${c.accepted}`,
    `  refused      ${c.rejected}${
      Object.keys(state.rejectedByCode).length
        ? ` (${Object.entries(state.rejectedByCode)
            .map(([k, v]) => `${k} ${v}`)
            .join(", ")})`
        : ""
    }`,
    `  bad rows     ${c.badRows}`,
    `  duplicates   ${c.duplicates}`,
  ];
  console.log(lines.join("\n"));
  const shown = [...state.problems].sort((a, b) => a.line - b.line).slice(0, 50);
  for (const p of shown) console.log(`  line ${p.line}: ${p.kind}${p.code ? ` ${p.code}` : ""}: ${p.message}`);
  const all = c.rejected + c.badRows + c.duplicates;
  if (all > shown.length) console.log(`  … and ${all - shown.length} more (see --report)`);
}

async function main(): Promise<void> {
  const o = parseOptions(program, options.extend({ api: options.shape.api.optional() }));
  const file = program.args[0]!;
  const api = options.shape.api.safeParse(o.api ?? process.env.KEYPROOF_API);
  if (!api.success) fail(api.error.issues[0]!.message);
  const client = new KeyProofApi(api.data, { token: readToken(o.tokenFile) });
  const statePath = o.state ?? `${file}.${o.mode}.import-state.json`;

  const bar =
    o.progress && process.stderr.isTTY
      ? new SingleBar({ format: "{bar} {percentage}% | {value}/{total} bytes | {eta}s left" }, Presets.shades_classic)
      : null;
  let started = false;
  process.once("SIGINT", () => {
    bar?.stop();
    process.stderr.write(`\ninterrupted: progress is saved in ${statePath}; run the same command again to resume\n`);
    process.exit(130);
  });
  try {
    const result = await importCsv({
      file,
      mode: o.mode,
      api: client,
      batchSize: o.batchSize,
      statePath,
      restart: o.restart ?? false,
      encoding: o.encoding,
      onNotice: (m) => process.stderr.write(`note: ${m}\n`),
      onProgress: (value, total) => {
        if (!bar) return;
        if (!started) {
          bar.start(total, 0);
          started = true;
        }
        bar.update(value);
      },
    });
    bar?.stop();
    if (result.batches === 0 && result.resumedFromLine > 1 && result.state.done)
      console.log(`already imported (${statePath}); nothing to do (--restart sends the whole file again)`);
    else if (result.resumedFromLine > 1) console.log(`resumed at line ${result.resumedFromLine}`);
    printSummary(result.state, file);
    if (o.report) writeFileSync(o.report, `${JSON.stringify({ file, ...result.state }, null, 2)}\n`);
    const c = result.state.counts;
    process.exitCode = c.rejected + c.badRows + c.duplicates > 0 ? 1 : 0;
  } catch (e) {
    bar?.stop();
    if (e instanceof ImportError || e instanceof ApiError) fail(e.message);
    fail(`import stopped: ${(e as Error).message}; progress is saved in ${statePath}, run again to resume`);
  }
}

main().catch((e: unknown) => fail(errorText(e)));
