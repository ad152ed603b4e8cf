/**
 * What the HTTP stack alone costs a single-event write: the service's own
 * Express app (service/http/app.ts and its routes/: helmet, the request log,
 * the JSON body parser, token auth, zod) over a ledger that answers at once,
 * against a bare node:http server that parses the same body and sends the
 * same answer. Each server runs in its own process, the load generator
 * (autocannon, 32 connections) in this one, one after the other in one run,
 * so their ratio is measured on the same machine at the same time.
 *
 *   npm run bench:http-floor -- [seconds per run, default 10]
 *
 * It bounds what `bench:load`'s `POST /v1/events`, 1 a request, can reach
 * here before the ledger does any work (docs/figures.md).
 */
import { spawn } from "node:child_process";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { fileURLToPath } from "node:url";
import autocannon from "autocannon";
import pino from "pino";
import { createApp } from "../service/http/app.js";
import type { Ledger } from "../service/store/ledger.js";
import { benchArgs } from "./lib/args.js";
import { machineLine } from "./lib/machine.js";

const TOKEN = "bench-floor-token-0123456789abcdef";
const ANSWER = {
  results: [{ ok: true, index: 1000001, key: "ab".repeat(32), leafHash: "cd".repeat(32) }],
  checkpoint: `bench-floor.keyproof/log\n1000002\n${"A".repeat(44)}\n${"B".repeat(44)}\n\n— bench-floor.keyproof/log ${"C".repeat(88)}\n`,
};
const KINDS = ["app", "bare"] as const;
type Kind = (typeof KINDS)[number];

/** The server of `kind` on a free port of 127.0.0.1; prints the port. */
async function serve(kind: Kind): Promise<void> {
  let server: Server;
  if (kind === "bare") {
    server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on("data", (c: Buffer) => chunks.push(c));
      req.on("end", () => {
        JSON.parse(Buffer.concat(chunks).toString("utf8"));
        const body = JSON.stringify(ANSWER);
        res.writeHead(200, { "content-type": "application/json; charset=utf-8", "content-length": Buffer.byteLength(body) });
        res.end(body);
      });
    });
  } else {
    // Only what POST /v1/events asks of the ledger, answered at once.
    const ledger = {
      participantForToken: (token: string) => Promise.resolve(token === TOKEN ? { id: "acme", role: "issuer", name: "Acme" } : undefined),
      submit: () => Promise.resolve(ANSWER),
    } as unknown as Ledger;
    server = createServer(
      createApp({
        ledger,
        // As bench:load runs the service (LOG_LEVEL=warn): the request log's line is built, not written.
        log: pino({ level: "warn" }),
        info: () => ({ origin: "bench-floor.keyproof/log", verifierKey: "k", logId: "0x", chainId: null, contract: null, rpcUrl: null }),
        anchorer: () => null,
        verifyRateLimit: 1_000_000_000,
        bodyLimit: "10mb",
      }),
    );
  }
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  console.log((server.address() as AddressInfo).port);
}

if (process.argv[2] === "--serve") {
  await serve(process.argv[3] as Kind);
} else {
  const [seconds] = benchArgs(
    "bench:http-floor",
    "Single-event POST /v1/events through the service's Express app over a ledger that answers at once, against a bare node:http server.",
    [{ name: "seconds", description: "seconds per run", default: 10 }],
  ) as [number];
  const speed = machineLine();
  const body = JSON.stringify({ events: [{ type: "issue", code: "FLOOR-0001-KEY", sku: "s" }] });
  const rates: Record<string, number> = {};
  for (const kind of KINDS) {
    const child = spawn(process.execPath, ["--import", "tsx", fileURLToPath(import.meta.url), "--serve", kind], {
      stdio: ["ignore", "pipe", "inherit"],
    });
    const port = await new Promise<number>((resolve, reject) => {
      child.stdout.once("data", (d: Buffer) => resolve(Number(d.toString().trim())));
      child.once("exit", (code) => reject(new Error(`the ${kind} server exited (${code})`)));
    });
    try {
      const r = await autocannon({
        url: `http://127.0.0.1:${port}`,
        connections: 32,
        duration: seconds,
        requests: [
          { method: "POST", path: "/v1/events", headers: { "content-type": "application/json", authorization: `Bearer ${TOKEN}` }, body },
        ],
      });
      if (r.non2xx > 0 || r.errors > 0) throw new Error(`${kind}: ${r.non2xx} answers not 2xx, ${r.errors} errors`);
      rates[kind] = r.requests.average;
      console.log(
        `${kind === "app" ? "the service's Express app, ledger answering at once" : "bare node:http, same body and answer"}`.padEnd(54) +
          `${r.requests.average.toFixed(0).padStart(6)} req/s   p50 ${r.latency.p50} ms   p99 ${r.latency.p99} ms   (${(1e6 / r.requests.average).toFixed(0)} µs a request)`,
      );
    } finally {
      child.kill("SIGTERM");
    }
  }
  console.log(`\nratio bare / app: ${(rates.bare! / rates.app!).toFixed(2)}; ${seconds} s a run, 32 connections; ${speed}`);
}
