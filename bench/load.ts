/**
 * HTTP load against a real service process on 127.0.0.1 holding a large log,
 * driven by autocannon, each run bounded in time:
 *
 *   read path   /v1/verify at a fixed 500 requests/s; then /v1/verify,
 *               /v1/keys/<key>, /v1/proof/inclusion and tiles flat out
 *   write path  1 event a request at a fixed 1,000 events/s, with inclusion
 *               proofs read meanwhile, then alone; then POST /v1/events flat
 *               out in batches of 100 (new keys only; then 50 keys issued and
 *               sold, the mix bench:ingest appends) and of 1: events/s and
 *               p50/p99 to a durable answer
 *
 * Reads go first, after an unreported warm-up, so that they measure the loaded
 * store rather than the compactions the write runs leave behind. Fixed-rate
 * runs are open loop (bench/lib/paced.ts), flat-out runs are autocannon's.
 * Last, issue #8's targets, each met or not by this run (bench/lib/targets.ts).
 *
 *   npm run bench:load -- [entries to preload, default 1000000] [seconds per run, default 10]
 *
 * The service's own verify rate limit is lifted for the run (bench/lib/service.ts).
 */
import { spawn } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import autocannon, { type Options, type Result } from "autocannon";
import { benchArgs } from "./lib/args.js";
import { benchCode, fillLedger, openBenchLedger, progress, settle } from "./lib/fill.js";
import { machineLine } from "./lib/machine.js";
import { paced, type PacedRequest, type PacedResult } from "./lib/paced.js";
import { judge, verdictLines, type PacedFigure, type ThroughputFigure } from "./lib/targets.js";
import { countOver, startService } from "./lib/service.js";
import { cpuPerEvent, threadCpu, withOwnThreads } from "./lib/threads.js";

const OPERATOR = "bench-load-operator-token-0123456789";
const ORIGIN = "bench-load.keyproof/log";

/**
 * Fills the store in a child process (`load.ts --fill <data dir> <events>`),
 * so the load generator's heap holds nothing of it: a collection of a big heap
 * in the generator would show up as the service's latency.
 */
async function fill(dataDir: string, preload: number): Promise<void> {
  const ledger = await openBenchLedger({ serviceDataDir: dataDir, origin: ORIGIN });
  process.stderr.write(`preloading ${preload} events…\n`);
  await fillLedger(ledger, {
    total: preload,
    perBatch: 10_000,
    clients: 2,
    onProgress: (n, s) => progress(`${n} (${(n / s).toFixed(0)}/s)`),
  });
  // Keys to read back: a sample of the preloaded issues.
  const sampleKeys: string[] = [];
  for (let i = 0; i < 2000; i++) {
    const index = 1 + 2 * Math.floor(Math.random() * (preload / 2));
    sampleKeys.push((JSON.parse(await ledger.entry(BigInt(index))) as { key: string }).key);
  }
  process.stderr.write(`LevelDB settled after ${(await settle(ledger.db)).toFixed(0)} s\n`);
  await ledger.close();
  writeFileSync(path.join(dataDir, "sample-keys.json"), JSON.stringify(sampleKeys));
}

if (process.argv[2] === "--fill") {
  await fill(process.argv[3]!, Number(process.argv[4]));
  process.exit(0);
}

const [preload, seconds] = benchArgs(
  "bench:load",
  "HTTP load (autocannon) against a service on 127.0.0.1 holding a large log: read and write paths.",
  [
    { name: "entries", description: "entries to preload", default: 1_000_000 },
    { name: "seconds", description: "seconds per run", default: 10 },
  ],
) as [number, number];
// Before anything else runs: the machine's speed today, printed with the figures.
const speed = machineLine();
const dir = mkdtempSync(path.join(os.tmpdir(), "keyproof-bench-load-"));
const dataDir = path.join(dir, "data");
const filler = spawn(process.execPath, ["--import", "tsx", fileURLToPath(import.meta.url), "--fill", dataDir, String(preload)], {
  stdio: ["ignore", "inherit", "inherit"],
});
const filled = await new Promise<number | null>((r) => filler.once("exit", r));
if (filled !== 0) throw new Error(`filling the store failed (exit ${filled})`);
const sampleKeys = JSON.parse(readFileSync(path.join(dataDir, "sample-keys.json"), "utf8")) as string[];
process.stderr.write("starting the service…\n");
const service = await startService({
  dataDir,
  origin: ORIGIN,
  operatorToken: OPERATOR,
  env: { ANCHORING: "off" },
  onStartFailure: () => rmSync(dir, { recursive: true, force: true }),
});
const { url } = service;
try {
  const reg = await fetch(`${url}/v1/participants`, {
    method: "POST",
    headers: { "content-type": "application/json", authorization: `Bearer ${OPERATOR}` },
    body: JSON.stringify({ id: "loadgen", role: "issuer", name: "Load generator" }),
  });
  const token = ((await reg.json()) as { token: string }).token;
  const writeHeaders = { "content-type": "application/json", authorization: `Bearer ${token}` };
  let codeNo = 0;
  const nextCode = (): string => `LOAD-${(codeNo++).toString(36).toUpperCase()}-KEY`;
  const issueBody = (n: number): string =>
    JSON.stringify({ events: Array.from({ length: n }, () => ({ type: "issue", code: nextCode(), sku: "s" })) });
  // A key's life in one request: its issue, then its sale (the mix bench:ingest appends).
  const lifecycleBody = (n: number): string =>
    JSON.stringify({
      events: Array.from({ length: n / 2 }, () => {
        const code = nextCode();
        return [
          { type: "issue", code, sku: "s" },
          { type: "sell", code, order: `order-${codeNo}` },
        ];
      }).flat(),
    });
  const pick = <T>(xs: T[]): T => xs[Math.floor(Math.random() * xs.length)]!;
  const size = async (): Promise<number> => ((await (await fetch(`${url}/v1/log`)).json()) as { size: number }).size;

  const run = (title: string, o: Partial<Options> & { requests: NonNullable<Options["requests"]> }): Promise<Result> =>
    new Promise((resolve, reject) => {
      process.stderr.write(`${title}…\n`);
      autocannon({ url, duration: seconds, connections: 8, ...o }, (err, r) => (err ? reject(err) : resolve(r)));
    });
  const line = (title: string, r: Result, perRequest = 1): string => {
    const bad = r.non2xx + r.errors + r.timeouts;
    const rate = perRequest === 1 ? `${r.requests.average.toFixed(0)} req/s` : `${(r.requests.average * perRequest).toFixed(0)} events/s`;
    return `${title.padEnd(50)} ${rate.padStart(14)}   p50 ${String(r.latency.p50).padStart(4)} ms   p99 ${String(r.latency.p99).padStart(4)} ms${bad ? `   (${bad} failed)` : ""}`;
  };
  const atRate = (title: string, rate: number, request: () => PacedRequest): Promise<PacedResult> => {
    process.stderr.write(`${title}…\n`);
    return paced({ url, rate, seconds, request });
  };
  const pacedLine = (title: string, r: PacedResult): string =>
    `${title.padEnd(50)} ${`${r.rate.toFixed(0)} req/s`.padStart(14)}   p50 ${String(r.p50).padStart(4)} ms   p99 ${String(r.p99).padStart(4)} ms${r.failed ? `   (${r.failed} failed)` : ""}   (paced; max ${r.max} ms, generator lag ${r.lag} ms)`;
  const results: string[] = [];
  // Events per group commit over a write run, from the service's own
  // histogram: what explains most of a write figure (each group pays its own
  // signature, synced write and upper map levels).
  // With the synced writes by time: a slow one (LevelDB compacting beside
  // the log's fsync) holds back every request queued behind it.
  const groupStats = async (): Promise<{ count: number; sum: number; writes: number; over50: number; over250: number }> => {
    const read = await service.metrics();
    return {
      count: read("keyproof_batch_events_count"),
      sum: read("keyproof_batch_events_sum"),
      writes: read("keyproof_batch_write_seconds_count"),
      over50: countOver(read, "keyproof_batch_write_seconds", "0.05"),
      over250: countOver(read, "keyproof_batch_write_seconds", "0.25"),
    };
  };
  // The service's own threads' CPU is in its metrics: /proc's order does not tell them from the compaction thread.
  const serviceThreads = async (): Promise<ReturnType<typeof threadCpu>> => {
    const threads = threadCpu(service.pid);
    const read = await service.metrics();
    return withOwnThreads(threads, {
      bundles: read("keyproof_bundle_thread_cpu_seconds_total") * 1000,
      map: read("keyproof_map_thread_cpu_seconds_total") * 1000,
    });
  };
  // And where each event's CPU went, by thread of the service, and in the
  // load generator: on two cores, what a write figure is bound by.
  const grouped = async <T>(work: () => Promise<T>): Promise<[T, string]> => {
    const before = await groupStats();
    const [threads0, generator0] = [await serviceThreads(), process.cpuUsage()];
    const r = await work();
    const [threads1, generator] = [await serviceThreads(), process.cpuUsage(generator0)];
    const after = await groupStats();
    const events = after.sum - before.sum;
    const cpu = cpuPerEvent(threads0, threads1, events);
    const writes = after.writes - before.writes;
    const slow = after.over50 - before.over50;
    const slower = after.over250 - before.over250;
    return [
      r,
      `   (${(events / (after.count - before.count)).toFixed(1)} events a group commit; ${writes} synced writes, ${slow} over 50 ms, ${slower} over 250 ms${cpu ? `; service: ${cpu}; load generator ${((generator.user + generator.system) / events).toFixed(0)} µs` : ""})`,
    ];
  };

  // Where a paced read run's time went: the service's threads (a compaction
  // LevelDB starts meanwhile takes a core from the service and the generator)
  // and the longest the event loop was held up, from the service's own
  // metrics (prom-client resets that maximum at every scrape).
  const loopAndThreads = async (): Promise<{ delayMax: number; threads: ReturnType<typeof threadCpu> }> => {
    const threads = await serviceThreads();
    const read = await service.metrics();
    return { delayMax: read("nodejs_eventloop_lag_max_seconds") * 1000, threads };
  };
  const pacedReads = async (title: string, rate: number, request: () => PacedRequest): Promise<[PacedResult, string]> => {
    const { threads: threads0 } = await loopAndThreads();
    const r = await atRate(title, rate, request);
    const { threads, delayMax } = await loopAndThreads();
    const cpu = cpuPerEvent(threads0, threads, r.ok, "a request");
    const note = `   (${cpu ? `service: ${cpu}; ` : ""}event loop held up ${delayMax.toFixed(0)} ms at most)`;
    return [r, note];
  };

  const verifyBody = (): string => JSON.stringify({ code: benchCode(Math.floor(Math.random() * (preload / 2))) });
  const verifyReq = {
    method: "POST" as const,
    path: "/v1/verify",
    headers: { "content-type": "application/json" },
    setupRequest: (req: object) => ({ ...req, body: verifyBody() }),
  };
  const pacedVerify = (): PacedRequest => ({ method: "POST", path: "/v1/verify", headers: verifyReq.headers, body: verifyBody() });
  // The service has just opened a freshly filled store: let LevelDB settle
  // its compactions and warm its caches under a light load, unreported.
  // Their threads' figures go to stderr: whether the compactions had ended.
  for (const rate of [200, 500]) process.stderr.write(`${(await pacedReads("warm-up (not reported)", rate, pacedVerify))[1].trim()}\n`);
  // The rate a paced run was asked for is what it sent over the run's seconds.
  const figure = (r: PacedResult): PacedFigure => ({ asked: r.sent / seconds, answered: r.rate, failed: r.failed, p99: r.p99 });
  const ingest: ThroughputFigure[] = [];
  const throughput = (title: string, r: Result, perRequest: number): ThroughputFigure => ({
    title,
    eventsPerSecond: r.requests.average * perRequest,
    failed: r.non2xx + r.errors + r.timeouts,
  });
  const [verify, verifyThreads] = await pacedReads("verify at 500/s", 500, pacedVerify);
  results.push(pacedLine("POST /v1/verify at 500 req/s", verify) + verifyThreads);
  results.push(line("POST /v1/verify, flat out", await run("verify flat out", { requests: [verifyReq] })));
  results.push(
    line(
      "GET /v1/keys/<key>, flat out",
      await run("keys", { requests: [{ method: "GET", setupRequest: (req) => ({ ...req, path: `/v1/keys/${pick(sampleKeys)}` }) }] }),
    ),
  );
  const m = await size();
  results.push(
    line(
      "GET /v1/proof/inclusion, flat out",
      await run("inclusion", {
        requests: [
          {
            method: "GET",
            setupRequest: (req) => ({ ...req, path: `/v1/proof/inclusion?index=${Math.floor(Math.random() * m)}&size=${m}` }),
          },
        ],
      }),
    ),
  );
  const tiles = Math.floor(m / 256);
  const tilePath = (i: number): string => {
    const s = String(i).padStart(Math.ceil(String(i).length / 3) * 3, "0");
    const groups = s.match(/.{3}/g)!;
    return groups.map((g, k) => (k < groups.length - 1 ? `x${g}` : g)).join("/");
  };
  results.push(
    line(
      "GET /tile/0/<N>, flat out",
      await run("tiles", {
        requests: [{ method: "GET", setupRequest: (req) => ({ ...req, path: `/tile/0/${tilePath(Math.floor(Math.random() * tiles))}` }) }],
      }),
    ),
  );

  // 1,000 events/s as a platform that batches sends them: 10 requests of 100
  // a second, each answered with its events' inclusion proofs. First of the
  // writes, as the lightest; the single events at the same rate follow.
  const [batched, batchedGroups] = await grouped(() =>
    atRate("write at 1,000 events/s, 100 a request", 10, () => ({
      method: "POST",
      path: "/v1/events?proof=inclusion",
      headers: writeHeaders,
      body: issueBody(100),
    })),
  );
  results.push(pacedLine("POST /v1/events?proof=inclusion, 100 a req, 10/s", batched) + batchedGroups);

  // At 1,000 events/s: the durable answer with the event's inclusion proof, and
  // inclusion proofs of older entries read at the same time. Before the
  // flat-out writes, whose compaction debt would stall it.
  const n = await size();
  const singleWrites = (title: string): Promise<[PacedResult, string]> =>
    grouped(() =>
      atRate(title, 1000, () => ({
        method: "POST",
        path: "/v1/events?proof=inclusion",
        headers: writeHeaders,
        body: issueBody(1),
      })),
    );
  const [[steady, steadyGroups], proofs] = await Promise.all([
    singleWrites("write at 1,000 events/s"),
    atRate("inclusion proofs during it", 500, () => ({
      method: "GET",
      path: `/v1/proof/inclusion?index=${Math.floor(Math.random() * n)}&size=${n}`,
    })),
  ]);
  results.push(pacedLine("POST /v1/events?proof=inclusion at 1,000 events/s", steady) + steadyGroups);
  results.push(pacedLine("GET /v1/proof/inclusion at 500/s, same time", proofs));
  // The same writes with nothing beside them: the target as the issue states
  // it. After the run above, so that its figures compare with earlier days'.
  const [alone, aloneGroups] = await singleWrites("write at 1,000 events/s, nothing else");
  results.push(pacedLine("POST /v1/events?proof=inclusion at 1,000/s, alone", alone) + aloneGroups);
  // Requests in flight become one group commit: more connections, larger
  // groups, which share the upper map levels and one fsync.
  for (const connections of [4, 32]) {
    const [w100, groups] = await grouped(() =>
      run(`write, 100 events a request, ${connections} connections`, {
        connections,
        requests: [
          { method: "POST", path: "/v1/events", headers: writeHeaders, setupRequest: (req) => ({ ...req, body: issueBody(100) }) },
        ],
      }),
    );
    results.push(line(`POST /v1/events, 100 a request (${connections} conns)`, w100, 100) + groups);
    ingest.push(throughput(`100 new keys a request, ${connections} connections`, w100, 100));
  }
  const [pairs, pairGroups] = await grouped(() =>
    run("write, 100 events a request (50 issued and sold), 32 connections", {
      connections: 32,
      requests: [
        { method: "POST", path: "/v1/events", headers: writeHeaders, setupRequest: (req) => ({ ...req, body: lifecycleBody(100) }) },
      ],
    }),
  );
  results.push(line("POST /v1/events, 50 issue+sell pairs (32 conns)", pairs, 100) + pairGroups);
  ingest.push(throughput("50 issue+sell pairs a request, 32 connections", pairs, 100));
  const [w1, singleGroups] = await grouped(() =>
    run("write, 1 event a request", {
      connections: 32,
      requests: [{ method: "POST", path: "/v1/events", headers: writeHeaders, setupRequest: (req) => ({ ...req, body: issueBody(1) }) }],
    }),
  );
  results.push(line("POST /v1/events, 1 a request (32 conns)", w1) + singleGroups);

  console.log(
    `\nKeyProof HTTP load: ${preload} entries preloaded, ${seconds} s a run, service and load generator on one machine: ${speed}\n`,
  );
  for (const r of results) console.log(r);
  // The issue sets them with 1M entries loaded: a smaller store is easier on every figure.
  const at = preload >= 1_000_000 ? "" : ` (which preloaded ${preload} entries: the issue sets them at 1,000,000)`;
  console.log(`\nIssue #8's targets, from this run${at}:`);
  const verdicts = judge({ verify: figure(verify), singles: figure(alone), batched: figure(batched), ingest });
  for (const v of verdictLines(verdicts)) console.log(`  ${v}`);
} finally {
  await service.stop();
  rmSync(dir, { recursive: true, force: true });
}
