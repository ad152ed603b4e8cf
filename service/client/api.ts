/**
 * A client of the KeyProof HTTP API (SPEC §8) for the command-line tools. The
 * log's answers are outside input: each is checked with zod before use, and a
 * network error or a 5xx/429 is retried with backoff, so an import survives
 * a service restart.
 */
import { z } from "zod";
import { describeIssue } from "../core/validate.js";
import { hex32 } from "../core/ledger/schema.js";

const errorBody = z.object({ error: z.object({ code: z.string(), message: z.string() }) });

export const logInfoAnswer = z.object({
  origin: z.string().min(1),
  verifierKey: z.string().min(1),
  logId: z.string().regex(/^0x[0-9a-f]{64}$/),
  size: z.number().int().nonnegative(),
  chainId: z.number().int().nullable(),
  contract: z.string().nullable(),
  rpcUrl: z.string().nullable(),
});
export type LogInfo = z.infer<typeof logInfoAnswer>;

const entriesAnswer = z.object({
  entries: z.array(z.object({ index: z.number().int().nonnegative(), entry: z.string() })).max(1000),
});
const consistencyAnswer = z.object({ from: z.number(), to: z.number(), proof: z.array(hex32).max(128) });

export const eventResult = z.union([
  z.object({ ok: z.literal(true), index: z.number().int().nonnegative(), key: hex32.optional(), leafHash: hex32 }),
  z.object({ ok: z.literal(false), error: z.object({ code: z.string(), message: z.string() }) }),
]);
export type EventResult = z.infer<typeof eventResult>;
const eventsAnswer = z.object({ results: z.array(eventResult), checkpoint: z.string() });

/** An answer the API gave with an error code (a 4xx, or a 5xx after the retries). */
export class ApiError extends Error {
  override name = "ApiError";
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

export interface ApiOptions {
  token?: string;
  /** Attempts for network errors, 429 and 5xx (default 8, backing off up to 10 s). */
  attempts?: number;
  timeoutMs?: number;
}

export class KeyProofApi {
  readonly base: string;
  constructor(
    baseUrl: string,
    private readonly opts: ApiOptions = {},
  ) {
    this.base = baseUrl.replace(/\/+$/, "");
  }

  private async request(method: string, path: string, body?: unknown, headers: Record<string, string> = {}): Promise<Response> {
    const attempts = this.opts.attempts ?? 8;
    for (let attempt = 1; ; attempt++) {
      let res: Response | undefined;
      let cause: unknown;
      try {
        res = await fetch(`${this.base}${path}`, {
          method,
          headers: {
            ...(body !== undefined ? { "content-type": "application/json" } : {}),
            ...(this.opts.token ? { authorization: `Bearer ${this.opts.token}` } : {}),
            ...headers,
          },
          ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
          signal: AbortSignal.timeout(this.opts.timeoutMs ?? 120_000),
        });
      } catch (e) {
        cause = e;
      }
      const retryable = res === undefined || res.status === 429 || res.status >= 500;
      if (!retryable) return res!;
      if (attempt >= attempts) {
        if (res) return res;
        throw new Error(`${this.base} is unreachable: ${(cause as Error)?.message ?? String(cause)}`);
      }
      await res?.body?.cancel();
      await new Promise((r) => setTimeout(r, Math.min(10_000, 250 * 2 ** attempt)));
    }
  }

  private async json<S extends z.ZodType>(schema: S, res: Response, what: string): Promise<z.infer<S>> {
    const text = await res.text();
    let body: unknown;
    try {
      body = JSON.parse(text);
    } catch {
      throw new ApiError(res.status, "BAD_ANSWER", `${what}: the log answered HTTP ${res.status} with something that is not JSON`);
    }
    if (!res.ok) {
      const e = errorBody.safeParse(body);
      if (e.success) throw new ApiError(res.status, e.data.error.code, `${what}: ${e.data.error.code}: ${e.data.error.message}`);
      throw new ApiError(res.status, "BAD_ANSWER", `${what}: HTTP ${res.status}`);
    }
    const parsed = schema.safeParse(body);
    if (!parsed.success) throw new ApiError(res.status, "BAD_ANSWER", `${what}: unexpected answer (${describeIssue(parsed.error)})`);
    return parsed.data;
  }

  async logInfo(): Promise<LogInfo> {
    return this.json(logInfoAnswer, await this.request("GET", "/v1/log"), "GET /v1/log");
  }

  async checkpoint(): Promise<string> {
    const res = await this.request("GET", "/checkpoint");
    const text = await res.text();
    if (!res.ok) throw new ApiError(res.status, "BAD_ANSWER", `GET /checkpoint: HTTP ${res.status}`);
    return text;
  }

  /** Entries [start, end): one page (the log may answer fewer than asked). */
  async entries(start: number, end: number): Promise<{ index: number; entry: string }[]> {
    const q = `/v1/entries?start=${start}&end=${end}`;
    return (await this.json(entriesAnswer, await this.request("GET", q), `GET ${q}`)).entries;
  }

  /** A participant's registration with its inclusion proof at `size`, as answered: prove it with `verifyParticipant`. */
  async participant(id: string, size: bigint): Promise<unknown> {
    const q = `/v1/participants/${encodeURIComponent(id)}?size=${size}`;
    return this.json(z.unknown(), await this.request("GET", q), `GET ${q}`);
  }

  async consistency(from: number, to: number): Promise<string[]> {
    const q = `/v1/proof/consistency?from=${from}&to=${to}`;
    return (await this.json(consistencyAnswer, await this.request("GET", q), `GET ${q}`)).proof;
  }

  async postEvents(events: unknown[], idempotencyKey?: string): Promise<{ results: EventResult[]; checkpoint: string }> {
    const res = await this.request("POST", "/v1/events", { events }, idempotencyKey ? { "idempotency-key": idempotencyKey } : {});
    // A batch where every request was refused comes back as a 4xx with its results (docs/protocol-choices.md).
    if (!res.ok && res.status < 500) {
      const text = await res.text();
      let body: unknown;
      try {
        body = JSON.parse(text);
      } catch {
        body = undefined;
      }
      const all = eventsAnswer.partial({ checkpoint: true }).safeParse(body);
      if (all.success && all.data.results.length === events.length)
        return { results: all.data.results, checkpoint: all.data.checkpoint ?? "" };
      const e = errorBody.safeParse(body);
      throw new ApiError(
        res.status,
        e.success ? e.data.error.code : "BAD_ANSWER",
        `POST /v1/events: ${e.success ? `${e.data.error.code}: ${e.data.error.message}` : `HTTP ${res.status}`}`,
      );
    }
    const answer = await this.json(eventsAnswer, res, "POST /v1/events");
    if (answer.results.length !== events.length)
      throw new ApiError(res.status, "BAD_ANSWER", "POST /v1/events: results do not match the requests");
    return answer;
  }
}
