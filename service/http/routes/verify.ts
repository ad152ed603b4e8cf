/**
 * POST /v1/verify: a buyer's code in, the key's evidence bundle out, limited
 * per client address so that codes cannot be enumerated through it.
 */
import express, { type NextFunction, type Request, type Response } from "express";
import { rateLimit } from "express-rate-limit";
import { KeyProofError } from "../../core/errors.js";
import { checkInput } from "../../core/validate.js";
import { bundlesInThread } from "../../bundle-thread.js";
import { sendError } from "../errors.js";
import { wrap } from "../handler.js";
import { input } from "../input.js";
import type { Metrics } from "../metrics.js";
import type { AppOptions } from "../app.js";

export function addVerifyRoute(app: express.Express, o: AppOptions, metrics: Metrics): void {
  const { ledger, log } = o;
  const bundles = o.bundles ?? bundlesInThread(ledger);
  const limiter = rateLimit({
    windowMs: 60_000,
    limit: o.verifyRateLimit,
    standardHeaders: "draft-8",
    legacyHeaders: false,
    // Said once in the service's own log instead (below), not on stderr.
    validate: { xForwardedForHeader: false },
    handler: (_req, res) => {
      metrics.verify.inc({ result: "rate_limited" });
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
    limiter,
    wrap(async (req, res) => {
      const b = checkInput(input.verify, req.body, "body");
      try {
        const bundle = await bundles.bundle(b.code, o.info());
        metrics.verify.inc({ result: "found" });
        res.set("Cache-Control", "no-store").type("json").send(bundle);
      } catch (e) {
        metrics.verify.inc({ result: e instanceof KeyProofError ? e.code.toLowerCase() : "error" });
        throw e;
      }
    }),
  );
}
