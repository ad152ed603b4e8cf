/**
 * The SPEC §8 HTTP API over Express 5. Every input is checked with zod before
 * it reaches the ledger; errors are `{"error": {"code", "message"}}` with a
 * stable code. Request logs carry method, route, status and time — never
 * bodies, codes, tokens or query strings.
 */
import { randomBytes } from "node:crypto";
import express, { type NextFunction, type Request, type Response } from "express";
import { rateLimit } from "express-rate-limit";
import cors from "cors";
import helmet from "helmet";
import type { Logger } from "pino";
import client from "prom-client";
import { z } from "zod";
import { concatBytes, toHex } from "../core/bytes.js";
import { KeyProofError } from "../core/errors.js";
import { checkInput } from "../core/validate.js";
import { participantId, role } from "../core/ledger/schema.js";
import type { Anchorer } from "../chain/anchorer.js";
import { errorText } from "../chain/redact.js";
import { buildBundle, CONSISTENT_READ_ATTEMPTS, type LogInfo } from "../bundle.js";
import type { Ledger } from "../store/ledger.js";
import { isStorageError, readRefused } from "../store/storage-errors.js";
import { tokenHash } from "../store/tokens.js";
import { withInclusion } from "./answers.js";
import { sendError, statusOf } from "./errors.js";
import { parseTilePath, TILE_WIDTH } from "./tiles.js";

export interface AppOptions {
  ledger: Ledger;
  log: Logger;
  info: () => LogInfo & { rpcUrl: string | null };
  anchorer: () => Anchorer | null;
  verifyRateLimit: number;
  /** Proxies whose X-Forwarded-For gives the client's address (config TRUST_PROXY); none by default. */
  trustProxy?: number | string[];
  bodyLimit: string;
  webRoot?: string;
}

const u64 = z
  .string()
  .regex(/^(0|[1-9][0-9]{0,19})$/, "must be a non-negative integer")
  .transform((s) => BigInt(s))
  .refine((n) => n < 1n << 64n, "must fit in 64 bits");

// Schemas are built once: zod compiles a schema on its first use, which costs
// more than the parse itself when a handler builds a fresh one per request.
const input = {
  range: z.object({ start: u64, end: u64 }),
  inclusion: z.object({ index: u64, size: u64 }),
  consistency: z.object({ from: u64, to: u64 }),
  verify: z.strictObject({ code: z.string().min(1).max(1024), order: z.string().max(256).optional() }),
  events: z.strictObject({ events: z.array(z.unknown()).min(1).max(10_000) }),
  // Strict: a misspelt `proof` must not quietly answer without proofs.
  eventsQuery: z.strictObject({ proof: z.literal("inclusion").optional() }),
  anchorsPage: z.strictObject({
    from: u64.optional(),
    limit: z
      .string()
      .regex(/^[1-9][0-9]{0,3}$/, "must be an integer from 1 to 1000")
      .transform(Number)
      .refine((n) => n <= 1000, "must be an integer from 1 to 1000")
      .optional(),
  }),
  idempotencyKey: z.string().regex(/^[\x21-\x7e]{1,128}$/, "Idempotency-Key must be 1 to 128 visible ASCII characters"),
  participant: z.strictObject({ id: participantId, role, name: z.string().min(1).max(256) }),
  participantQuery: z.strictObject({ size: u64.optional() }),
};

/**
 * What a request log names: the route's pattern (never its parameters), a
 * file of the page by its path, and nothing of a path no route took, which
 * is whatever a client put in a link (a code, mistakenly).
 */
function routeOf(req: Request, status: number): string {
  const pattern: unknown = req.route?.path;
  if (typeof pattern === "string") return pattern;
  if (pattern instanceof RegExp) return pattern.source;
  return status < 400 ? req.path : "(no route)";
}

type Handler = (req: Request, res: Response) => Promise<void> | void;
const wrap =
  (h: Handler) =>
  (req: Request, res: Response, next: NextFunction): void => {
    Promise.resolve(h(req, res)).catch(next);
  };

/** Settles once `res` can take more, or is closed. */
const drained = (res: Response): Promise<void> =>
  new Promise((resolve) => {
    const done = (): void => {
      res.off("drain", done);
      res.off("close", done);
      resolve();
    };
    res.on("drain", done);
    res.on("close", done);
  });

/** The GET endpoints any origin may read (see `cors` in createApp). */
const PUBLIC_READS = ["/checkpoint", "/tile", "/v1/log", "/v1/entries", "/v1/proof", "/v1/keys", "/v1/anchors"];

export function createApp(o: AppOptions): express.Express {
  const { ledger, log } = o;
  const app = express();
  app.disable("x-powered-by");
  // Behind a reverse proxy every request comes from its address, and one
  // rate limit would be shared by every buyer: the operator names the proxy.
  app.set("trust proxy", o.trustProxy ?? false);

  const registry = new client.Registry();
  client.collectDefaultMetrics({ register: registry });
  const m = {
    events: new client.Counter({ name: "keyproof_events_appended_total", help: "Events appended to the log", registers: [registry] }),
    batch: new client.Histogram({
      name: "keyproof_batch_events",
      help: "Events per group commit",
      buckets: [1, 10, 100, 1000, 10000, 50000],
      registers: [registry],
    }),
    verify: new client.Counter({
      name: "keyproof_verify_requests_total",
      help: "POST /v1/verify requests",
      labelNames: ["result"],
      registers: [registry],
    }),
    lag: new client.Gauge({
      name: "keyproof_anchor_lag_entries",
      help: "Entries not yet covered by a confirmed anchor",
      registers: [registry],
      async collect() {
        this.set(Number(ledger.size) - (ledger.anchors.newestConfirmedSize() ?? 0));
      },
    }),
  };
  ledger.onBatch = ({ events }) => {
    m.events.inc(events);
    m.batch.observe(events);
  };

  app.use(
    helmet({
      contentSecurityPolicy: { directives: { "connect-src": ["'self'", "http:", "https:"], "script-src": ["'self'"] } },
    }),
  );
  app.use((req, res, next) => {
    const t = performance.now();
    res.on("finish", () => {
      log.info(
        {
          method: req.method,
          route: routeOf(req, res.statusCode),
          status: res.statusCode,
          ms: Math.round(performance.now() - t),
        },
        "request",
      );
    });
    next();
  });
  app.use(express.json({ limit: o.bodyLimit, strict: true }));

  // ---- public reads -----------------------------------------------------------

  // Readable from any web page (a monitor, a second verifier hosted elsewhere):
  // they are public and need no credentials. Not /v1/verify, whose rate limit
  // per address a page could multiply by its visitors, nor the writes.
  const publicRead = cors({ origin: "*", methods: ["GET", "HEAD"], maxAge: 86_400 });
  app.use(PUBLIC_READS, publicRead);

  // Unhealthy once the ledger stopped writing: it still serves reads, but needs a restart.
  app.get("/healthz", (_req, res) => {
    const failure = ledger.writeFailure;
    res.status(failure ? 503 : 200).json({ ok: !failure, size: Number(ledger.size), ...(failure ? { error: failure.toJSON() } : {}) });
  });

  app.get(
    "/metrics",
    wrap(async (_req, res) => {
      res.type(registry.contentType).send(await registry.metrics());
    }),
  );

  app.get("/checkpoint", (_req, res) => {
    res.type("text/plain; charset=utf-8").set("Cache-Control", "no-cache").send(ledger.checkpoint.note);
  });

  app.get(
    /^\/tile\/(.+)$/,
    wrap(async (req, res) => {
      const t = parseTilePath((req.params as Record<string, string>)[0] ?? "");
      if (!t) return sendError(res, "NOT_FOUND", "not a tile path");
      const size = ledger.size;
      if (t.level === "entries") {
        const start = t.index * BigInt(TILE_WIDTH);
        if (start + BigInt(t.width) > size) return sendError(res, "NOT_FOUND", "tile beyond the tree");
        const entries = await ledger.log.entries(start, start + BigInt(t.width));
        const parts = entries.flatMap((e) => [Uint8Array.of(e.length >> 8, e.length & 0xff), e]);
        res.type("application/octet-stream").send(Buffer.from(concatBytes(...parts)));
        return;
      }
      const levelSize = size >> BigInt(8 * t.level);
      const start = t.index * BigInt(TILE_WIDTH);
      if (start + BigInt(t.width) > levelSize) return sendError(res, "NOT_FOUND", "tile beyond the tree");
      const hashes = await ledger.log.levelHashes(8 * t.level, start, t.width);
      if (t.width === TILE_WIDTH) res.set("Cache-Control", "public, max-age=31536000, immutable");
      res.type("application/octet-stream").send(Buffer.from(concatBytes(...hashes)));
    }),
  );

  app.get("/v1/log", (_req, res) => {
    const i = o.info();
    res.json({
      origin: i.origin,
      verifierKey: i.verifierKey,
      logId: i.logId,
      size: Number(ledger.size),
      chainId: i.chainId,
      contract: i.contract,
      rpcUrl: i.rpcUrl,
    });
  });

  app.get(
    "/v1/entries",
    wrap(async (req, res) => {
      const q = checkInput(input.range, req.query);
      if (q.end < q.start) throw new KeyProofError("INVALID_INPUT", "end must not be before start");
      if (q.end - q.start > 1000n) throw new KeyProofError("INVALID_INPUT", "at most 1000 entries a page");
      if (q.end > ledger.size) throw new KeyProofError("INVALID_INPUT", `end is beyond the log size ${ledger.size}`);
      const entries = await ledger.log.entries(q.start, q.end);
      const dec = new TextDecoder();
      res.json({ entries: entries.map((e, i) => ({ index: Number(q.start) + i, entry: dec.decode(e) })) });
    }),
  );

  app.get(
    "/v1/proof/inclusion",
    wrap(async (req, res) => {
      const q = checkInput(input.inclusion, req.query);
      if (q.size > ledger.size || q.index >= q.size) throw new KeyProofError("INVALID_INPUT", "need index < size <= log size");
      const [proof, leaf] = await Promise.all([ledger.log.inclusionProof(q.index, q.size), ledger.log.leafHash(q.index)]);
      res.json({ index: Number(q.index), size: Number(q.size), leafHash: toHex(leaf), proof: proof.map(toHex) });
    }),
  );

  app.get(
    "/v1/proof/consistency",
    wrap(async (req, res) => {
      const q = checkInput(input.consistency, req.query);
      if (q.from < 1n || q.from > q.to || q.to > ledger.size) throw new KeyProofError("INVALID_INPUT", "need 1 <= from <= to <= log size");
      const proof = await ledger.log.consistencyProof(q.from, q.to);
      res.json({ from: Number(q.from), to: Number(q.to), proof: proof.map(toHex) });
    }),
  );

  app.get(
    "/v1/keys/:key",
    wrap(async (req, res) => {
      const key = req.params.key as string;
      if (!/^[0-9a-f]{64}$/.test(key)) throw new KeyProofError("INVALID_INPUT", "key must be 64 lowercase hex digits");
      // The state and the proof must both be as of `size`: retry if an append moved the key meanwhile.
      for (let attempt = 0; attempt < CONSISTENT_READ_ATTEMPTS; attempt++) {
        const size = ledger.size;
        const state = await ledger.keyState(key);
        const usable = state === null || BigInt(state.index) < size;
        const mapProof = await ledger.mapProof(key, size);
        if (usable && (state === null ? mapProof.leaf?.key !== key : mapProof.leaf?.key === key)) {
          res.json({ key, size: Number(size), state, mapProof });
          return;
        }
        await new Promise((r) => setImmediate(r));
      }
      throw new Error(`could not read a consistent state and map proof for key ${key.slice(0, 8)}…`);
    }),
  );

  // Beyond SPEC §8: a participant's registration with its inclusion proof at
  // `size`, so that a verifier can name the ids a bundle holds, proved from
  // the log (core/bundle/participant.ts). Public, as the log's entries are;
  // the POST of the same path is the operator's and answers no other origin.
  app.get(
    "/v1/participants/:id",
    publicRead,
    wrap(async (req, res) => {
      const id = checkInput(participantId, req.params.id, "participant id");
      const q = checkInput(input.participantQuery, req.query);
      const p = ledger.participant(id);
      const index = ledger.participantEvent(id);
      if (!p || index === undefined) return sendError(res, "NOT_FOUND", "no participant has this id");
      const size = q.size ?? ledger.size;
      if (size > ledger.size || index >= size) {
        throw new KeyProofError("INVALID_INPUT", `it was registered at index ${index}: need ${index} < size <= log size ${ledger.size}`);
      }
      const [entry, inclusion] = await Promise.all([ledger.entry(index), ledger.log.inclusionProof(index, size)]);
      res.json({
        id: p.id,
        role: p.role,
        name: p.name,
        index: Number(index),
        size: Number(size),
        entry,
        inclusion: inclusion.map(toHex),
      });
    }),
  );

  // Every anchor, as SPEC §8 has it, though a log anchored every 30 s gathers
  // about a million a year: streamed from the store as it is read, so that
  // neither the records nor the answer are ever held whole. Beyond SPEC §8,
  // `?from=<size>&limit=<n>` gives a page, with the `next` size to ask from
  // (docs/protocol-choices.md, HTTP).
  app.get(
    "/v1/anchors",
    wrap(async (req, res) => {
      const q = checkInput(input.anchorsPage, req.query);
      const paged = q.from !== undefined || q.limit !== undefined;
      const limit = paged ? (q.limit ?? 1000) : Infinity;
      const contract = o.info().contract;
      res.type("application/json; charset=utf-8");
      // (res.destroyed stays false when the client hangs up.)
      let gone = false;
      res.once("close", () => (gone = true));
      let chunk = '{"anchors":[';
      let listed = 0;
      let next: number | null = null;
      for await (const a of ledger.anchors.records(q.from ?? 0n)) {
        if (a.contract !== contract) continue;
        if (listed === limit) {
          next = a.size;
          break;
        }
        const { size, logRoot, mapRoot, txHash, blockNumber, status } = a;
        chunk += (listed++ === 0 ? "" : ",") + JSON.stringify({ size, logRoot, mapRoot, txHash, blockNumber, status });
        if (chunk.length >= 64 * 1024) {
          if (!res.write(chunk) && !gone) await drained(res);
          if (gone) return; // the client went away
          chunk = "";
        }
      }
      res.end(`${chunk}]${paged ? `,"next":${next}` : ""}}`);
    }),
  );

  const verifyLimiter = rateLimit({
    windowMs: 60_000,
    limit: o.verifyRateLimit,
    standardHeaders: "draft-8",
    legacyHeaders: false,
    // Said once in the service's own log instead (below), not on stderr.
    validate: { xForwardedForHeader: false },
    handler: (_req, res) => {
      m.verify.inc({ result: "rate_limited" });
      sendError(res, "RATE_LIMITED", "too many verifications from this address; please wait a minute and try again");
    },
  });

  // A proxy in front that TRUST_PROXY does not name: every buyer shares its address's limit.
  let proxyWarned = o.trustProxy !== undefined;
  const proxyHint = (req: Request, _res: Response, next: NextFunction): void => {
    if (!proxyWarned && req.headers["x-forwarded-for"] !== undefined) {
      proxyWarned = true;
      log.warn(
        "requests carry X-Forwarded-For but TRUST_PROXY is not set: behind a reverse proxy, the verify rate limit counts every buyer as the proxy's one address. Set TRUST_PROXY to the proxy's hop count or address",
      );
    }
    next();
  };

  app.post(
    "/v1/verify",
    proxyHint,
    verifyLimiter,
    wrap(async (req, res) => {
      const b = checkInput(input.verify, req.body, "body");
      try {
        const bundle = await buildBundle(ledger, o.info(), b.code);
        m.verify.inc({ result: "found" });
        res.set("Cache-Control", "no-store").json(bundle);
      } catch (e) {
        m.verify.inc({ result: e instanceof KeyProofError ? e.code.toLowerCase() : "error" });
        throw e;
      }
    }),
  );

  // ---- writes ---------------------------------------------------------------

  const auth = async (req: Request): Promise<string> => {
    const h = req.get("authorization") ?? "";
    const m = /^Bearer ([A-Za-z0-9._~+/=-]{16,256})$/.exec(h);
    if (!m) throw new KeyProofError("UNAUTHORIZED", "missing or malformed bearer token");
    // Looked up by SHA-256: comparing hashes of a random token leaks nothing about it.
    const p = await ledger.participantForToken(m[1]!);
    if (!p) throw new KeyProofError("UNAUTHORIZED", "unknown token");
    return p.id;
  };
  const operatorOnly = async (req: Request): Promise<void> => {
    if ((await auth(req)) !== "operator") throw new KeyProofError("FORBIDDEN_ROLE", "only the operator may do this");
  };

  app.post(
    "/v1/events",
    wrap(async (req, res) => {
      const actor = await auth(req);
      const q = checkInput(input.eventsQuery, req.query);
      const b = checkInput(input.events, req.body, "body");
      const rawKey = req.get("idempotency-key");
      const key = rawKey === undefined ? undefined : checkInput(input.idempotencyKey, rawKey, "Idempotency-Key");
      const answer = await ledger.submit({ actor, requests: b.events, ...(key ? { idempotencyKey: key } : {}) });
      const firstError = answer.results.find((r) => !r.ok);
      if (answer.results.every((r) => !r.ok) && firstError && !firstError.ok) {
        // Nothing was appended: answer with the (first) error's status, and the results.
        res.status(statusOf(firstError.error.code)).json({ error: firstError.error, ...answer });
        return;
      }
      res.json(q.proof ? await withInclusion(ledger, answer) : answer);
    }),
  );

  app.post(
    "/v1/participants",
    wrap(async (req, res) => {
      await operatorOnly(req);
      const b = checkInput(input.participant, req.body, "body");
      const token = randomBytes(32).toString("base64url");
      const answer = await ledger.submit({ actor: "operator", requests: [{ type: "participant", ...b }], tokenHashes: [tokenHash(token)] });
      const r = answer.results[0]!;
      if (!r.ok) return sendError(res, r.error.code, r.error.message);
      res.status(201).json({ id: b.id, token, index: r.index, checkpoint: answer.checkpoint });
    }),
  );

  // Not in SPEC §8: a leaked token must be replaceable (docs/protocol-choices.md, HTTP).
  app.post(
    "/v1/participants/:id/token",
    wrap(async (req, res) => {
      await operatorOnly(req);
      const id = checkInput(participantId, req.params.id, "participant id");
      if (id === "operator" || !ledger.participant(id)) {
        return sendError(res, "UNKNOWN_PARTICIPANT", `no participant ${id} is registered (the operator's token is OPERATOR_TOKEN)`);
      }
      const token = randomBytes(32).toString("base64url");
      const revoked = await ledger.tokens.replace(id, token);
      log.warn({ participant: id, revoked }, "participant token replaced; its earlier tokens are revoked");
      res.json({ id, token, revoked });
    }),
  );

  app.post(
    "/v1/anchor",
    wrap(async (req, res) => {
      await operatorOnly(req);
      const anchorer = o.anchorer();
      if (!anchorer) return sendError(res, "ANCHORING_OFF", "anchoring is off on this service");
      try {
        const sent = await anchorer.anchorNow();
        const size = Number(ledger.size);
        // Nothing sent: the chain already held this size (anchored earlier, here or by another anchorer).
        const contract = o.info().contract;
        const rec = sent ?? (contract ? ledger.anchors.get(size, contract) : undefined) ?? null;
        res.json({ anchored: sent !== null, anchor: rec, size });
      } catch (e) {
        sendError(res, "CHAIN_UNAVAILABLE", `anchoring failed: ${errorText(e)}`);
      }
    }),
  );

  if (o.webRoot) app.use(express.static(o.webRoot, { index: "index.html" }));

  app.use((_req: Request, res: Response) => sendError(res, "NOT_FOUND", "no such endpoint"));
  const loggedFailures = new WeakSet<Error>();
  app.use((caught: unknown, _req: Request, res: Response, _next: NextFunction) => {
    // LevelDB failing under a read (a token, a state, a proof): the disk, not a bug here.
    const err = isStorageError(caught) ? readRefused(caught) : caught;
    if (res.headersSent) {
      // Part of a streamed answer is out: cut it off, so that no client takes it for whole.
      log.error({ err: errorText(err) }, "a streamed answer failed part way: the connection was closed");
      res.destroy();
      return;
    }
    if (err instanceof KeyProofError) {
      if (err.code === "STORAGE_UNAVAILABLE" && !loggedFailures.has(err)) {
        loggedFailures.add(err);
        if (err === ledger.writeFailure)
          log.fatal(
            { err: errorText(err.cause) },
            "the ledger stopped writing after a storage error: restart the service once the cause is fixed",
          );
        else log.error({ err: errorText(err.cause) }, "a storage read failed: the request was refused, nothing of it recorded");
      }
      return sendError(res, err.code, err.message);
    }
    const e = err as { type?: string; status?: number };
    if (e.type === "entity.too.large") return sendError(res, "PAYLOAD_TOO_LARGE", "request body too large");
    if (e.type === "entity.parse.failed" || e.status === 400) return sendError(res, "INVALID_INPUT", "request body is not valid JSON");
    log.error({ err: err instanceof Error ? err.message : String(err) }, "internal error");
    sendError(res, "INTERNAL", "internal error");
  });
  return app;
}
