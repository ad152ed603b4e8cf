/**
 * The SPEC §8 HTTP API over Express 5: the stack every request goes through
 * (security headers, the request log, the JSON body), the routes (routes/),
 * and the one error handler. Every input is checked with zod before it
 * reaches the ledger; errors are `{"error": {"code", "message"}}` with a
 * stable code. Request logs carry method, route, status and time — never
 * bodies, codes, tokens or query strings.
 */
import express, { type NextFunction, type Request, type Response } from "express";
import helmet from "helmet";
import type { Logger } from "pino";
import { KeyProofError } from "../core/errors.js";
import type { Anchorer } from "../chain/anchorer.js";
import { errorText } from "../chain/redact.js";
import type { LogInfo } from "../bundle.js";
import type { BundleMaker } from "../bundle-thread.js";
import type { Ledger } from "../store/ledger.js";
import { isStorageError, readRefused } from "../store/storage-errors.js";
import { sendError } from "./errors.js";
import { createMetrics } from "./metrics.js";
import { addReadRoutes } from "./routes/reads.js";
import { addVerifyRoute } from "./routes/verify.js";
import { addWriteRoutes } from "./routes/writes.js";

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
  /** Where verification bundles are built (bundle-thread.ts); on the calling thread by default. */
  bundles?: BundleMaker;
}

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

export function createApp(o: AppOptions): express.Express {
  const { ledger, log } = o;
  const app = express();
  app.disable("x-powered-by");
  // Behind a reverse proxy every request comes from its address, and one
  // rate limit would be shared by every buyer: the operator names the proxy.
  app.set("trust proxy", o.trustProxy ?? false);
  const metrics = createMetrics(ledger, o.bundles);

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
  // Writes first: they are the requests a busy service answers most, and a
  // request walks the routes in order (no route answers what another does).
  addWriteRoutes(app, o);
  addVerifyRoute(app, o, metrics);
  addReadRoutes(app, o, metrics);

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
    // What Express's body parser and router refuse is the client's request, never our failure.
    const e = err as { type?: string; status?: number };
    if (e.type === "entity.too.large") return sendError(res, "PAYLOAD_TOO_LARGE", "request body too large");
    if (e.type === "entity.parse.failed") return sendError(res, "INVALID_INPUT", "request body is not valid JSON");
    if (e.type === "charset.unsupported") return sendError(res, "INVALID_INPUT", "request body charset is not supported: send UTF-8");
    if (e.type === "encoding.unsupported")
      return sendError(res, "INVALID_INPUT", "Content-Encoding is not supported: send identity, gzip, deflate or br");
    if (err instanceof URIError) return sendError(res, "INVALID_INPUT", "the request path is not valid percent-encoded UTF-8");
    if (typeof e.status === "number" && e.status >= 400 && e.status < 500)
      return sendError(res, "INVALID_INPUT", "the request could not be read");
    log.error({ err: errorText(err) }, "internal error");
    sendError(res, "INTERNAL", "internal error");
  });
  return app;
}
