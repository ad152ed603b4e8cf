/**
 * A real service process for the HTTP benchmarks: started on a port of its
 * own (`service/main.ts`, as an operator starts it), waited for, its
 * Prometheus metrics read by name, stopped.
 */
import { spawn } from "node:child_process";

export interface BenchService {
  url: string;
  pid: number;
  /** The service's metrics as they stand, each read by its name with its labels (NaN when absent). */
  metrics(): Promise<(name: string) => number>;
  /** SIGTERM, and wait for the process to exit. */
  stop(): Promise<void>;
}

/**
 * Of a Prometheus histogram, as `BenchService.metrics` reads it: its
 * observations over the bucket bound `le` (its count less that bucket's),
 * for the series with the other `labels` given (`kind="minor"`), if any.
 */
export function countOver(read: (name: string) => number, histogram: string, le: string, labels?: string): number {
  return read(`${histogram}_count${labels ? `{${labels}}` : ""}`) - read(`${histogram}_bucket{le="${le}"${labels ? `,${labels}` : ""}}`);
}

/**
 * The flags `npm start` gives Node (package.json), so that a benchmark's
 * service runs as an operator's does. `--v8-pool-size=0` sizes V8's helper
 * threads (parallel scavenges, concurrent marking) to the machine's cores
 * instead of Node's default of four: on two cores four of them took cores
 * from the ledger's own threads (docs/figures.md, thirty-fourth session).
 */
export const SERVICE_NODE_FLAGS = ["--v8-pool-size=0"];

/** A port in a range no other service of the machine is likely to hold. */
export function randomPort(): number {
  return 30_000 + Math.floor(Math.random() * 20_000);
}

export interface ServiceOptions {
  dataDir: string;
  origin: string;
  operatorToken: string;
  /** More of the service's configuration (README, Configuration). */
  env?: Record<string, string>;
  /** Called when the service does not start: the caller's temporary files go. */
  onStartFailure?: () => void;
}

/**
 * Starts the service; its stderr goes to the caller's. Its request log is at
 * `warn` (a line a request would be the benchmark's cost), and the verify
 * rate limit is lifted: it counts per client address, and all of a
 * benchmark's load comes from one.
 */
export async function startService(o: ServiceOptions, port = randomPort()): Promise<BenchService> {
  const url = `http://127.0.0.1:${port}`;
  const child = spawn(process.execPath, [...SERVICE_NODE_FLAGS, "--import", "tsx", "service/main.ts"], {
    env: {
      ...process.env,
      DATA_DIR: o.dataDir,
      ORIGIN: o.origin,
      OPERATOR_TOKEN: o.operatorToken,
      LOG_LEVEL: "warn",
      VERIFY_RATE_LIMIT: "1000000000",
      ...o.env,
      PORT: String(port),
    },
    stdio: ["ignore", "ignore", "inherit"],
  });
  const exited = new Promise<void>((r) => child.once("exit", () => r()));
  const stop = async (): Promise<void> => {
    if (child.exitCode === null && child.signalCode === null) child.kill("SIGTERM");
    await exited;
  };
  try {
    // A first start deploys the anchor contract on the embedded chain: allow a minute.
    for (let i = 0; ; i++) {
      if (child.exitCode !== null) throw new Error(`the service exited during start-up (exit ${child.exitCode})`);
      try {
        if ((await fetch(`${url}/healthz`)).ok) break;
      } catch {
        // Not listening yet.
      }
      if (i > 600) throw new Error("the service did not start within a minute");
      await new Promise((r) => setTimeout(r, 100));
    }
  } catch (e) {
    await stop();
    o.onStartFailure?.();
    throw e;
  }
  return {
    url,
    pid: child.pid!,
    metrics: async () => {
      const text = await (await fetch(`${url}/metrics`)).text();
      return (name) => Number(new RegExp(`^${name.replace(/[{}+.]/g, "\\$&")} (\\S+)$`, "m").exec(text)?.[1] ?? NaN);
    },
    stop,
  };
}
