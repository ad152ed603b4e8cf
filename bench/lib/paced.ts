/**
 * Open-loop load at a fixed rate: request i is due at start + i / rate, sent
 * when due whatever the answers before it did, and its latency is counted from
 * when it was due. A slow answer therefore shows in every request that queued
 * behind it (no coordinated omission).
 *
 * autocannon, used for the flat-out runs, paces a fixed rate per connection and
 * per wall-clock second: each connection fires its quota back to back when the
 * second starts, so "500 req/s" is a burst of 500 followed by silence, and its
 * latency correction assumes a 1 ms interval. Neither is the steady load the
 * targets speak of.
 */
import * as hdr from "hdr-histogram-js";
import { Pool } from "undici";

export interface PacedRequest {
  method: "GET" | "POST";
  path: string;
  headers?: Record<string, string>;
  body?: string;
}

export interface PacedOptions {
  /** Origin of the service, e.g. http://127.0.0.1:8080. */
  url: string;
  /** Requests per second. */
  rate: number;
  seconds: number;
  /** Upper bound on requests in flight (one per connection); default 256. */
  connections?: number;
  request: () => PacedRequest;
}

export interface PacedResult {
  sent: number;
  ok: number;
  failed: number;
  /** Answers per second over the run, the time to drain included. */
  rate: number;
  p50: number;
  p99: number;
  max: number;
  /** The most a request was sent after it was due (ms): the generator's own lag, counted in the latencies. */
  lag: number;
}

export async function paced(o: PacedOptions): Promise<PacedResult> {
  const pool = new Pool(o.url, { connections: o.connections ?? 256, pipelining: 1 });
  // Microseconds, up to ten minutes.
  const hist = hdr.build({ lowestDiscernibleValue: 1, highestTrackableValue: 600_000_000, numberOfSignificantValueDigits: 3 });
  const total = Math.round(o.rate * o.seconds);
  const inflight = new Set<Promise<void>>();
  let ok = 0;
  let failed = 0;
  let lag = 0;

  const fire = (due: number): void => {
    lag = Math.max(lag, performance.now() - due);
    const r = o.request();
    const p = pool
      .request({ method: r.method, path: r.path, headers: r.headers, body: r.body })
      .then(async (res) => {
        await res.body.dump();
        if (res.statusCode < 300) ok++;
        else failed++;
      })
      .catch(() => {
        failed++;
      })
      .finally(() => {
        hist.recordValue(Math.max(1, Math.round((performance.now() - due) * 1000)));
        inflight.delete(p);
      });
    inflight.add(p);
  };

  const start = performance.now();
  let sent = 0;
  while (sent < total) {
    const now = performance.now();
    while (sent < total && start + (sent * 1000) / o.rate <= now) fire(start + (sent++ * 1000) / o.rate);
    await new Promise((r) => setTimeout(r, 1));
  }
  await Promise.all(inflight);
  const seconds = (performance.now() - start) / 1000;
  await pool.close();
  const ms = (us: number): number => Math.round(us / 100) / 10;
  return {
    sent,
    ok,
    failed,
    rate: (ok + failed) / seconds,
    p50: ms(hist.getValueAtPercentile(50)),
    p99: ms(hist.getValueAtPercentile(99)),
    max: ms(hist.maxValue),
    lag: Math.round(lag * 10) / 10,
  };
}
