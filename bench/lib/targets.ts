/**
 * Issue #8's targets, judged from one `bench:load` run, so that a rerun says
 * met or not met beside its figures. A paced target counts as met only when
 * the service also kept up with the rate it was sent (99 % of it answered,
 * none failed): a low p99 over a fraction of the load is not the promise.
 */

/** A paced run as the judge needs it: the rate it was sent at, what was answered, and the latency. */
export interface PacedFigure {
  asked: number;
  answered: number;
  failed: number;
  p99: number;
}

/** A flat-out write run: events per second, and requests that failed. */
export interface ThroughputFigure {
  title: string;
  eventsPerSecond: number;
  failed: number;
}

export interface LoadFigures {
  verify: PacedFigure;
  /** One event a request at 1,000 events/s, with nothing else running. */
  singles: PacedFigure;
  /** 100 events a request at 10 requests/s. */
  batched: PacedFigure;
  ingest: ThroughputFigure[];
}

export interface Verdict {
  target: string;
  met: boolean;
  measured: string;
}

const KEPT_UP = 0.99;

function pacedVerdict(target: string, f: PacedFigure, p99Max: number): Verdict {
  const keptUp = f.failed === 0 && f.answered >= f.asked * KEPT_UP;
  const measured = `p99 ${f.p99} ms, ${f.answered.toFixed(0)} of ${f.asked} a second answered${f.failed ? `, ${f.failed} failed` : ""}`;
  return { target, met: keptUp && f.p99 <= p99Max, measured };
}

export function judge(f: LoadFigures): Verdict[] {
  const clean = f.ingest.filter((r) => r.failed === 0);
  const best = clean.reduce<ThroughputFigure | undefined>((b, r) => (b && b.eventsPerSecond >= r.eventsPerSecond ? b : r), undefined);
  return [
    pacedVerdict("POST /v1/verify p99 ≤ 20 ms at 500 requests/s", f.verify, 20),
    {
      target: "durable ingest ≥ 10,000 events/s",
      met: best !== undefined && best.eventsPerSecond >= 10_000,
      measured: best ? `${best.eventsPerSecond.toFixed(0)} events/s at best (${best.title})` : "every write run had failures",
    },
    pacedVerdict("answer with inclusion proof p99 ≤ 50 ms at 1,000 events/s, 1 a request", f.singles, 50),
    pacedVerdict("the same, 100 events a request at 10 requests/s", f.batched, 50),
  ];
}

export function verdictLines(verdicts: Verdict[]): string[] {
  const width = Math.max(...verdicts.map((v) => v.target.length));
  return verdicts.map((v) => `${v.target.padEnd(width)}   ${(v.met ? "met" : "NOT MET").padEnd(7)}   ${v.measured}`);
}
