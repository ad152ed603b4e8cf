/**
 * The regulator's audit at scale: builds a log of N events (issue + sell
 * pairs), anchored on a local chain every N/10 events, serves it, and runs
 * `scripts/audit.ts` against it as its own process, timing it and reading its
 * peak memory (GNU time's maximum resident set size).
 *
 *   npm run bench:audit -- [events, default 1000000]
 */
import { execFile } from "node:child_process";
import { promisify } from "node:util";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { JsonRpcProvider, Wallet } from "ethers";
import pino from "pino";
import { startAnvil } from "../service/chain/anvil.js";
import { AnchorClient } from "../service/chain/contract.js";
import { configSchema, DEV_PRIVATE_KEY } from "../service/config.js";
import { logIdOf, toHex0x } from "../service/core/index.js";
import { startService } from "../service/server.js";
import type { Ledger } from "../service/store/ledger.js";
import { benchArgs } from "./lib/args.js";
import { fillLedger, openBenchLedger, progress } from "./lib/fill.js";
import { machineLine } from "./lib/machine.js";

const [total] = benchArgs(
  "bench:audit",
  "The regulator's audit at scale: builds and anchors a log, then times scripts/audit.ts against it and reads its peak memory.",
  [{ name: "events", description: "events in the audited log", default: 1_000_000 }],
) as [number];
const ORIGIN = "bench-audit.keyproof/log";
const HEAP_MB = 256;
const dir = mkdtempSync(path.join(os.tmpdir(), "keyproof-bench-audit-"));
// Before the work: the machine's speed today, printed with the figures.
const speed = machineLine();
const dataDir = path.join(dir, "data");
const chain = await startAnvil({ stateDir: path.join(dir, "chain"), port: 30_000 + Math.floor(Math.random() * 20_000) });
const provider = new JsonRpcProvider(chain.rpcUrl, undefined, { staticNetwork: true, cacheTimeout: -1 });
try {
  const wallet = new Wallet(DEV_PRIVATE_KEY, provider);
  const client = await AnchorClient.deploy(wallet);
  await client.registerLog(ORIGIN, wallet.address);
  const logId = logIdOf(ORIGIN);

  const ledger = await openBenchLedger({ serviceDataDir: dataDir, origin: ORIGIN });
  let anchored = 0n;
  const anchorEvery = BigInt(Math.max(1, Math.floor(total / 10)));
  const anchorNow = async (l: Ledger): Promise<void> => {
    const { checkpoint } = l.checkpoint;
    const proof = anchored === 0n ? [] : (await l.log.consistencyProof(anchored, checkpoint.size)).map(toHex0x);
    await (await client.sendAnchor(logId, checkpoint.size, toHex0x(checkpoint.logRoot), toHex0x(checkpoint.mapRoot), proof)).wait(1);
    anchored = checkpoint.size;
  };
  process.stderr.write(`building a log of ${total} events, anchored every ${anchorEvery}…\n`);
  await fillLedger(ledger, {
    total,
    perBatch: 10_000,
    clients: 2,
    afterBatch: async (l) => {
      if (l.size - anchored >= anchorEvery) await anchorNow(l);
    },
    onProgress: (n, s) => progress(`${n} events (${(n / s).toFixed(0)}/s)`),
  });
  if (ledger.size > anchored) await anchorNow(ledger);
  await ledger.close();
  if (process.stderr.isTTY) process.stderr.write("\n");

  const svc = await startService(
    configSchema.parse({
      PORT: "0",
      DATA_DIR: dataDir,
      ORIGIN,
      ANCHORING: "off",
      LOG_LEVEL: "silent",
      OPERATOR_TOKEN: "bench-operator-token-0123456789",
    }),
    pino({ level: "silent" }),
  );
  try {
    const out = path.join(dir, "report.json");
    const timing = path.join(dir, "time.txt");
    const info = (await (await fetch(`${svc.url}/v1/log`)).json()) as { verifierKey: string };
    process.stderr.write("auditing…\n");
    // Asynchronously: this process serves the log the audit reads.
    await promisify(execFile)(
      "/usr/bin/time",
      [
        "-f",
        "%e %M",
        "-o",
        timing,
        process.execPath,
        "--import",
        "tsx",
        "scripts/audit.ts",
        "--log",
        svc.url,
        "--rpc-url",
        chain.rpcUrl,
        "--contract",
        client.address,
        "--verifier-key",
        info.verifierKey,
        "--out",
        out,
        "--no-progress",
      ],
      // A capped heap: the audit finishing under it shows its memory does not grow with the log.
      { maxBuffer: 1 << 26, env: { ...process.env, NODE_OPTIONS: `--max-old-space-size=${HEAP_MB}` } },
    );
    const [seconds, maxKb] = readFileSync(timing, "utf8").trim().split(/\s+/).map(Number) as [number, number];
    const report = JSON.parse(readFileSync(out, "utf8")) as { ok: boolean; entriesAudited: number; keys: number; anchors: unknown[] };
    console.log(`machine:          ${speed}`);
    console.log(`log:              ${report.entriesAudited} entries, ${report.keys} keys, ${report.anchors.length} anchors`);
    console.log(`audit result:     ${report.ok ? "clean" : "FINDINGS (unexpected)"}`);
    console.log(
      `audit time:       ${seconds.toFixed(1)} s (${(report.entriesAudited / seconds).toFixed(0)} entries/s, process start included)`,
    );
    console.log(`audit peak RSS:   ${(maxKb / 1024).toFixed(0)} MiB (JavaScript heap capped at ${HEAP_MB} MiB)`);
    if (!report.ok) process.exitCode = 1;
  } finally {
    await svc.stop();
  }
} finally {
  provider.destroy();
  await chain.stop();
  rmSync(dir, { recursive: true, force: true });
}
