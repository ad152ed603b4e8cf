/**
 * The writes: events from participants (POST /v1/events), and the
 * operator's registrations, token replacements and anchors. Each needs a
 * bearer token, looked up by its hash (store/tokens.ts).
 */
import { randomBytes } from "node:crypto";
import express, { type Request } from "express";
import { KeyProofError } from "../../core/errors.js";
import { checkInput } from "../../core/validate.js";
import { participantId } from "../../core/ledger/schema.js";
import { errorText } from "../../chain/redact.js";
import type { Ledger } from "../../store/ledger.js";
import { tokenHash } from "../../store/tokens.js";
import { withInclusion } from "../answers.js";
import { sendError, statusOf } from "../errors.js";
import { wrap } from "../handler.js";
import { input } from "../input.js";
import type { AppOptions } from "../app.js";

/** The participant id the request's bearer token was issued to. */
async function auth(ledger: Ledger, req: Request): Promise<string> {
  const h = req.get("authorization") ?? "";
  const m = /^Bearer ([A-Za-z0-9._~+/=-]{16,256})$/.exec(h);
  if (!m) throw new KeyProofError("UNAUTHORIZED", "missing or malformed bearer token");
  // Looked up by SHA-256: comparing hashes of a random token leaks nothing about it.
  const p = await ledger.participantForToken(m[1]!);
  if (!p) throw new KeyProofError("UNAUTHORIZED", "unknown token");
  return p.id;
}

async function operatorOnly(ledger: Ledger, req: Request): Promise<void> {
  if ((await auth(ledger, req)) !== "operator") throw new KeyProofError("FORBIDDEN_ROLE", "only the operator may do this");
}

export function addWriteRoutes(app: express.Express, o: AppOptions): void {
  const { ledger, log } = o;

  app.post(
    "/v1/events",
    wrap(async (req, res) => {
      const actor = await auth(ledger, req);
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
      await operatorOnly(ledger, req);
      const b = checkInput(input.participant, req.body, "body");
      const token = randomBytes(32).toString("base64url");
      const answer = await ledger.submit({ actor: "operator", requests: [{ type: "participant", ...b }], tokenHashes: [tokenHash(token)] });
      const result = answer.results[0]!;
      if (!result.ok) return sendError(res, result.error.code, result.error.message);
      res.status(201).json({ id: b.id, token, index: result.index, checkpoint: answer.checkpoint });
    }),
  );

  // Not in SPEC §8: a leaked token must be replaceable (docs/protocol-choices.md, HTTP).
  app.post(
    "/v1/participants/:id/token",
    wrap(async (req, res) => {
      await operatorOnly(ledger, req);
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
      await operatorOnly(ledger, req);
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
}
