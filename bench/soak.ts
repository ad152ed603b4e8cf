/**
 * A long run of a real service with anchoring on (its embedded chain) under a
 * steady, mixed load: what hours of traffic do to it. Whether its memory
 * settles or creeps, whether latencies hold as the store grows, whether
 * anchoring keeps up, and whether the log it leaves audits clean against the
 * chain.
 *
 *   npm run bench:soak -- [minutes, default 30] [events/s, default 300]
 *
 * The load, in windows of 30 s, each paced open loop (bench/lib/paced.ts):
 * an issuer's requests of 10 events (4 keys issued, the same 4 passed to a
 * shop, 2 keys sold in an earlier window redeemed) and the shop's requests of
 * 4 sales (of keys passed to it in an earlier window), at the rate asked; and
 * buyers' verifications at 10 a second of sold keys with their order. In
 * each window a few of the verification bundles are checked here with the
 * core's verifier, and the service is sampled every 5 s: its heap after the
 * last collection is best seen as the lowest heap it reports in a window (a
 * floor, where the highest is garbage not yet collected), its resident
 * memory of its own (anonymous: heap, caches, LevelDB's memtables and block
 * cache) apart from the table files LevelDB maps (page cache the kernel
 * takes back when it needs it, which grows with the store), LevelDB's part
 * of the first and its count of table files as the service reports them
 * (/metrics), the longest its event loop was held up, and how many of the
 * window's synced LevelDB writes took over 50 ms (a write's p99 above that
 * with none of them is the event loop's queue, not the disk). Over each
 * window too: the share of it the event loop was at work, garbage
 * collection's share, and the collector's pauses over 10 ms (a queue's
 * tail grows with the server's busy share; a pause adds to it). One line a
 * window; then anchoring is let catch up, scripts/audit.ts replays the
 * whole log against the chain, and the run's verdicts are printed.
 */
import { spawn } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { verifyBundle } from "../service/core/bundle/verify.js";
import { KeyProofApi } from "../service/client/api.js";
import { benchArgs } from "./lib/args.js";
import { bytesUnder } from "./lib/disk.js";
import { machineLine } from "./lib/machine.js";
import { paced, type PacedRequest, type PacedResult } from "./lib/paced.js";
import { countOver, randomPort, startService, type BenchService } from "./lib/service.js";
import { median, slope } from "./lib/trend.js";

const WINDOW_S = 30;
const SAMPLE_MS = 5_000;
const VERIFY_RATE = 10;
const BUNDLES_CHECKED = 3;
const ANCHOR_INTERVAL_S = 10;
const OPERATOR = "bench-soak-operator-token-0123456789";
const MiB = 2 ** 20;
/** The kinds of collection in prom-client's nodejs_gc_duration_seconds. */
const GC_KINDS = ["minor", "major", "incremental", "weakcb"];

const [minutes, rate] = benchArgs(
  "bench:soak",
  "A long run of a service with anchoring on under a steady mixed load: memory, latency, anchoring, and an audit at the end.",
  [
    { name: "minutes", description: "minutes of load", default: 30 },
    { name: "events", description: "events a second (issue, transfer, sale, redemption)", default: 300 },
  ],
) as [number, number];
// Issuer and shop requests go at the same rate, 14 events between them.
const requestRate = rate / 14;
const windows = Math.max(1, Math.round((minutes * 60) / WINDOW_S));
const speed = machineLine();

const dir = mkdtempSync(path.join(os.tmpdir(), "keyproof-bench-soak-"));
const dataDir = path.join(dir, "data");
const chainPort = randomPort();
process.stderr.write("starting the service and its chain…\n");
const service = await startService({
  dataDir,
  origin: "bench-soak.keyproof/log",
  operatorToken: OPERATOR,
  env: { CHAIN_PORT: String(chainPort), ANCHOR_INTERVAL: String(ANCHOR_INTERVAL_S) },
  onStartFailure: () => rmSync(dir, { recursive: true, force: true }),
});
const { url } = service;

/** The service's resident memory from Linux's /proc, its own and its mapped files (NaN elsewhere). */
function residentBytes(pid: number): { anon: number; file: number } {
  let status = "";
  try {
    status = readFileSync(`/proc/${pid}/status`, "utf8");
  } catch {
    // Not Linux, or the process is gone.
  }
  const kb = (field: string): number => {
    const v = new RegExp(`^${field}:\\s+(\\d+) kB$`, "m").exec(status)?.[1];
    return v === undefined ? NaN : Number(v) * 1024;
  };
  return { anon: kb("RssAnon"), file: kb("RssFile") };
}

async function json<T>(res: Response | Promise<Response>): Promise<T> {
  const r = await res;
  if (!r.ok) throw new Error(`${r.url}: HTTP ${r.status} ${(await r.text()).slice(0, 200)}`);
  return (await r.json()) as T;
}

interface Window {
  minute: number;
  size: number;
  writes: PacedResult;
  shop: PacedResult;
  verify: PacedResult;
  rejected: number;
  heapFloor: number;
  anon: number;
  /** LevelDB's memtables and block cache, part of `anon`. */
  leveldb: number;
  tables: number;
  mapped: number;
  loopMax: number;
  unanchored: number;
  store: number;
  bundlesOk: number;
  /** The window's synced LevelDB writes (group commits), and those over 50 ms: a slow disk or a compaction beside the fsync. */
  syncs: number;
  slowSyncs: number;
  /** The shares of the window the service's event loop was at work and its garbage collector (the second a part of the first). */
  busy: number;
  gc: number;
  /** Garbage-collection pauses over 10 ms, and of them over 100 ms. */
  gcOver10: number;
  gcOver100: number;
}

try {
  const register = (id: string, role: string): Promise<{ token: string }> =>
    json(
      fetch(`${url}/v1/participants`, {
        method: "POST",
        headers: { "content-type": "application/json", authorization: `Bearer ${OPERATOR}` },
        body: JSON.stringify({ id, role, name: `Soak ${role}` }),
      }),
    );
  const issuer = { "content-type": "application/json", authorization: `Bearer ${(await register("soak-issuer", "issuer")).token}` };
  const shop = { "content-type": "application/json", authorization: `Bearer ${(await register("soak-shop", "seller")).token}` };
  const api = new KeyProofApi(url);
  const log = await api.logInfo();
  // Anchoring is half of what a soak is for: without a contract it would run its hour for nothing.
  if (!log.contract || !log.rpcUrl) {
    throw new Error(
      "the service names no anchor contract: it could not deploy one on its embedded chain (is the contract built? `npx hardhat build`)",
    );
  }
  const chain = { contract: log.contract, rpcUrl: log.rpcUrl };
  const size = async (): Promise<number> => (await api.logInfo()).size;

  // Keys move issuer -> shop -> buyer -> redeemed; a key joins the next
  // stage's queue only once the window that moved it is over (acknowledged).
  let codeNo = 0;
  const newCode = (): string => `SOAK-${(codeNo++).toString(36).toUpperCase().padStart(6, "0")}-KEY`;
  const orderOf = (code: string): string => `order-${code}`;
  const atShop: string[] = [];
  const sold: string[] = [];
  const unredeemed: string[] = [];
  let passedNow: string[] = [];
  let soldNow: string[] = [];
  let sentEvents = 0;
  // The events of each step, the same paced or not.
  const issuedAndPassed = (codes: string[]): object[] => [
    ...codes.map((code) => ({ type: "issue", code, sku: "soak-100" })),
    ...codes.map((code) => ({ type: "transfer", code, to: "soak-shop" })),
  ];
  const sales = (codes: string[]): object[] => codes.map((code) => ({ type: "sell", code, order: orderOf(code) }));
  const post = (headers: Record<string, string>, events: object[]): PacedRequest => {
    sentEvents += events.length;
    return { method: "POST", path: "/v1/events", headers, body: JSON.stringify({ events }) };
  };
  const issuerRequest = (): PacedRequest => {
    const codes = [newCode(), newCode(), newCode(), newCode()];
    passedNow.push(...codes);
    const redeems = unredeemed.splice(0, 2).map((code) => ({ type: "redeem", code }));
    return post(issuer, [...issuedAndPassed(codes), ...redeems]);
  };
  const shopRequest = (): PacedRequest => {
    const codes = atShop.splice(0, 4);
    if (codes.length === 0) return { method: "GET", path: "/healthz" };
    soldNow.push(...codes);
    return post(shop, sales(codes));
  };
  const pickSold = (): string => sold[Math.floor(Math.random() * sold.length)]!;
  const verifyRequest = (code = pickSold()): PacedRequest => ({
    method: "POST",
    path: "/v1/verify",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ code, order: orderOf(code) }),
  });
  // A request sent at once, not paced; its answer must be a success.
  const send = <T>(r: PacedRequest): Promise<T> => json(fetch(`${url}${r.path}`, { method: r.method, headers: r.headers, body: r.body }));

  // Stock for the first window: keys at the shop and sold, unpaced.
  process.stderr.write("stocking the first window…\n");
  const perWindow = Math.ceil(requestRate * WINDOW_S * 4);
  while (atShop.length < 2 * perWindow) {
    const codes = Array.from({ length: 50 }, newCode);
    await send(post(issuer, issuedAndPassed(codes)));
    atShop.push(...codes);
  }
  for (let i = 0; i < 4; i++) {
    const codes = atShop.splice(0, 100);
    await send(post(shop, sales(codes)));
    sold.push(...codes);
    unredeemed.push(...codes);
  }

  const readService = async (): Promise<{
    heap: number;
    loop: number;
    unanchored: number;
    leveldb: number;
    tables: number;
    syncs: number;
    slowSyncs: number;
    at: number;
    busy: number;
    gc: { seconds: number; over10: number; over100: number };
  }> => {
    const read = await service.metrics();
    // prom-client's GC histogram, one series a kind of collection; a kind not seen yet is absent (NaN).
    const gcSum = (value: (kind: string) => number): number => GC_KINDS.reduce((s, kind) => s + (value(kind) || 0), 0);
    const gcOver = (le: string): number => gcSum((kind) => countOver(read, "nodejs_gc_duration_seconds", le, `kind="${kind}"`));
    return {
      at: performance.now() / 1000,
      busy: read("keyproof_event_loop_busy_seconds_total"),
      gc: {
        seconds: gcSum((kind) => read(`nodejs_gc_duration_seconds_sum{kind="${kind}"}`)),
        over10: gcOver("0.01"),
        over100: gcOver("0.1"),
      },
      syncs: read("keyproof_batch_write_seconds_count"),
      slowSyncs: countOver(read, "keyproof_batch_write_seconds", "0.05"),
      heap: read("nodejs_heap_size_used_bytes"),
      loop: read("nodejs_eventloop_lag_max_seconds") * 1000,
      unanchored: read("keyproof_anchor_lag_entries"),
      leveldb: read("keyproof_store_memory_bytes"),
      tables: read("keyproof_store_table_files"),
    };
  };
  const bundleChecks = async (): Promise<number> => {
    let ok = 0;
    for (let i = 0; i < BUNDLES_CHECKED; i++) {
      const code = pickSold();
      const bundle = await send<unknown>(verifyRequest(code));
      const report = await verifyBundle(bundle, {
        code,
        order: orderOf(code),
        trusted: { verifierKey: log.verifierKey, contract: chain.contract },
      });
      if (report.ok) ok++;
      else
        process.stderr.write(
          `bundle of ${code} not verified: ${report.checks
            .filter((c) => !c.ok)
            .map((c) => `${c.id}: ${c.detail}`)
            .join("; ")}\n`,
        );
    }
    return ok;
  };

  const started = performance.now();
  const rows: Window[] = [];
  console.log(
    `\nKeyProof soak: ${minutes} min at ${rate} events/s asked, ${VERIFY_RATE} verifications/s, anchoring every ${ANCHOR_INTERVAL_S} s: ${speed}\n`,
  );
  console.log(
    "  min      size   writes p50/p99 ms   shop p50/p99   verify p50/p99   heap floor   own   leveldb  tables   mapped   loop max   unanchored   store   slow syncs   loop busy / gc   gc >10 ms   bundles",
  );
  for (let w = 0; w < windows; w++) {
    const before = await size();
    const start = await readService();
    sentEvents = 0;
    passedNow = [];
    soldNow = [];
    let heapFloor = Infinity;
    let anon = 0;
    let leveldb = 0;
    let tables = 0;
    let mapped = 0;
    let loopMax = 0;
    const sample = async (): Promise<void> => {
      const m = await readService();
      heapFloor = Math.min(heapFloor, m.heap);
      loopMax = Math.max(loopMax, m.loop);
      leveldb = Math.max(leveldb, m.leveldb);
      tables = m.tables;
      const resident = residentBytes(service.pid);
      anon = Math.max(anon, resident.anon);
      mapped = Math.max(mapped, resident.file);
    };
    const sampler = setInterval(() => void sample().catch(() => undefined), SAMPLE_MS);
    const [writes, shopped, verify] = await Promise.all([
      paced({ url, rate: requestRate, seconds: WINDOW_S, request: issuerRequest }),
      paced({ url, rate: requestRate, seconds: WINDOW_S, request: shopRequest }),
      paced({ url, rate: VERIFY_RATE, seconds: WINDOW_S, request: verifyRequest }),
    ]);
    clearInterval(sampler);
    await sample();
    // What the requests that answered carried and the log did not take: events the state machine refused.
    const after = await size();
    const rejected = writes.failed + shopped.failed === 0 ? sentEvents - (after - before) : NaN;
    if (writes.failed === 0) atShop.push(...passedNow);
    if (shopped.failed === 0) {
      sold.push(...soldNow);
      unredeemed.push(...soldNow);
    }
    const end = await readService();
    const span = end.at - start.at;
    const row: Window = {
      minute: (performance.now() - started) / 60_000,
      size: after,
      writes,
      shop: shopped,
      verify,
      rejected,
      heapFloor,
      anon,
      leveldb,
      tables,
      mapped,
      loopMax,
      unanchored: end.unanchored,
      syncs: end.syncs - start.syncs,
      slowSyncs: end.slowSyncs - start.slowSyncs,
      busy: (end.busy - start.busy) / span,
      gc: (end.gc.seconds - start.gc.seconds) / span,
      gcOver10: end.gc.over10 - start.gc.over10,
      gcOver100: end.gc.over100 - start.gc.over100,
      store: bytesUnder(dataDir),
      bundlesOk: await bundleChecks(),
    };
    rows.push(row);
    console.log(windowLine(row));
  }

  process.stderr.write("letting anchoring catch up…\n");
  let unanchored = NaN;
  for (let i = 0; i < 120; i++) {
    unanchored = (await readService()).unanchored;
    if (unanchored === 0) break;
    await new Promise((r) => setTimeout(r, 1000));
  }
  process.stderr.write("auditing the log against the chain…\n");
  const audit = await runAudit(service, chain.contract, chain.rpcUrl);

  // Verdicts over the run, the first windows left out (caches filling, the JIT warming).
  const settled = rows.slice(Math.min(2, rows.length - 1));
  const secondHalf = settled.slice(Math.floor(settled.length / 2));
  const mib = (b: number): string => `${(b / MiB).toFixed(0)} MiB`;
  const perHour = (pick: (r: Window) => number, over: Window[]): string =>
    over.length < 3
      ? "(too few windows for a trend)"
      : `${(slope(over.map((r) => ({ x: r.minute, y: pick(r) / MiB }))) * 60).toFixed(1)} MiB an hour`;
  const first = settled[0]!;
  const last = settled.at(-1)!;
  console.log(
    `\nOver ${last.minute.toFixed(1)} min, ${last.size} entries at the end (${((last.size - rows[0]!.size) / ((last.minute - rows[0]!.minute) * 60 || 1)).toFixed(0)} a second from the first window's end):`,
  );
  console.log(
    `  heap floor        ${mib(first.heapFloor)} -> ${mib(last.heapFloor)}; trend over the second half ${perHour((r) => r.heapFloor, secondHalf)}`,
  );
  console.log(
    `  resident, own     ${mib(first.anon)} -> ${mib(last.anon)}; trend over the second half ${perHour((r) => r.anon, secondHalf)}`,
  );
  console.log(
    `  of it, LevelDB    ${mib(first.leveldb)} -> ${mib(last.leveldb)} (memtables and block cache; ${first.tables} -> ${last.tables} table files)`,
  );
  console.log(`  resident, mapped  ${mib(first.mapped)} -> ${mib(last.mapped)} (LevelDB's table files, page cache)`);
  console.log(`  store on disk     ${mib(first.store)} -> ${mib(last.store)} (${(last.store / last.size).toFixed(0)} bytes an entry)`);
  const p99s = (pick: (r: Window) => PacedResult): string =>
    `p99 median ${median(settled.map((r) => pick(r).p99)).toFixed(1)} ms, worst ${Math.max(...settled.map((r) => pick(r).p99)).toFixed(1)} ms, failed ${settled.reduce((s, r) => s + pick(r).failed, 0)}`;
  console.log(`  issuer writes     ${p99s((r) => r.writes)}`);
  console.log(`  shop writes       ${p99s((r) => r.shop)}`);
  console.log(`  verifications     ${p99s((r) => r.verify)}`);
  const slow = settled.filter((r) => r.slowSyncs > 0);
  const writeP99 = (over: Window[]): string => (over.length ? `${median(over.map((r) => r.writes.p99)).toFixed(1)} ms` : "none");
  console.log(
    `  synced writes     ${settled.reduce((s, r) => s + r.slowSyncs, 0)} of ${settled.reduce((s, r) => s + r.syncs, 0)} over 50 ms, in ${slow.length} of ${settled.length} windows; issuer write p99 median in those ${writeP99(slow)}, in the others ${writeP99(settled.filter((r) => r.slowSyncs === 0))}`,
  );
  const byBusy = [...settled].sort((a, b) => a.busy - b.busy);
  const quieter = byBusy.slice(0, Math.floor(byBusy.length / 2));
  const busier = byBusy.slice(quieter.length);
  const busyRange = (over: Window[]): string => (over.length ? `${percent(over[0]!.busy)}–${percent(over.at(-1)!.busy)}` : "none");
  console.log(
    `  event loop        busy ${busyRange(byBusy)} of a window; issuer write p99 median ${writeP99(busier)} in the busier half (${busyRange(busier)}), ${writeP99(quieter)} in the quieter (${busyRange(quieter)})`,
  );
  const busyTotal = settled.reduce((s, r) => s + r.busy, 0);
  console.log(
    `  garbage collector ${percent(settled.reduce((s, r) => s + r.gc, 0) / busyTotal)} of the loop's busy time; ${settled.reduce((s, r) => s + r.gcOver10, 0)} pauses over 10 ms, ${settled.reduce((s, r) => s + r.gcOver100, 0)} over 100 ms`,
  );
  console.log(
    `  refused events    ${rows.reduce((s, r) => s + (Number.isNaN(r.rejected) ? 0 : r.rejected), 0)} (the mix has none the rules refuse)`,
  );
  console.log(`  bundles verified  ${rows.reduce((s, r) => s + r.bundlesOk, 0)} of ${rows.length * BUNDLES_CHECKED} checked`);
  console.log(`  anchoring         ${Number.isNaN(unanchored) ? "unknown" : `${unanchored} entries unanchored`} after catching up`);
  console.log(`  audit             ${audit}`);
} finally {
  await service.stop();
  rmSync(dir, { recursive: true, force: true });
}

function percent(f: number): string {
  return `${(100 * f).toFixed(0)} %`;
}

function windowLine(r: Window): string {
  const pair = (p: PacedResult): string => `${p.p50.toFixed(1)}/${p.p99.toFixed(1)}${p.failed ? ` (${p.failed} failed)` : ""}`;
  return [
    r.minute.toFixed(1).padStart(5),
    String(r.size).padStart(9),
    pair(r.writes).padStart(19),
    pair(r.shop).padStart(14),
    pair(r.verify).padStart(16),
    `${(r.heapFloor / MiB).toFixed(0)} MiB`.padStart(12),
    `${(r.anon / MiB).toFixed(0)} MiB`.padStart(8),
    `${(r.leveldb / MiB).toFixed(0)} MiB`.padStart(8),
    String(r.tables).padStart(7),
    `${(r.mapped / MiB).toFixed(0)} MiB`.padStart(8),
    `${r.loopMax.toFixed(0)} ms`.padStart(10),
    String(r.unanchored).padStart(12),
    `${(r.store / MiB).toFixed(0)} MiB`.padStart(8),
    `${r.slowSyncs}/${r.syncs}`.padStart(12),
    `${percent(r.busy)} / ${percent(r.gc)}`.padStart(16),
    `${r.gcOver10}${r.gcOver100 ? ` (${r.gcOver100} >100)` : ""}`.padStart(11),
    `${r.bundlesOk}/${BUNDLES_CHECKED}${Number.isNaN(r.rejected) || r.rejected === 0 ? "" : `  ${r.rejected} events refused`}`.padStart(9),
  ].join(" ");
}

/** Runs scripts/audit.ts as a regulator would; its verdict line and exit code. */
async function runAudit(s: BenchService, contract: string, rpcUrl: string): Promise<string> {
  const child = spawn(
    process.execPath,
    [
      "--import",
      "tsx",
      "scripts/audit.ts",
      "--log",
      s.url,
      "--rpc-url",
      rpcUrl,
      "--contract",
      contract,
      "--no-progress",
      "--out",
      path.join(dir, "audit.json"),
    ],
    { stdio: ["ignore", "pipe", "inherit"] },
  );
  let out = "";
  child.stdout.on("data", (d: Buffer) => (out += d.toString()));
  const code = await new Promise<number | null>((r) => child.once("exit", r));
  const lines = out.trim().split("\n");
  const verdict = lines.find((l) => /^(CLEAN|FINDINGS)/.test(l)) ?? lines.at(-1) ?? "";
  return `exit ${code}: ${verdict.trim()}`;
}
