/** HTTP status for each stable error code, and the error body of SPEC §8. */
import type { Response } from "express";

const STATUS: Record<string, number> = {
  INVALID_INPUT: 400,
  UNAUTHORIZED: 401,
  FORBIDDEN_ROLE: 403,
  NOT_HOLDER: 403,
  NOT_ISSUER: 403,
  UNKNOWN_KEY: 404,
  NOT_FOUND: 404,
  DUPLICATE_KEY: 409,
  DOUBLE_SALE: 409,
  ALREADY_REDEEMED: 409,
  KEY_VOID: 409,
  ANCHORING_OFF: 409,
  PAYLOAD_TOO_LARGE: 413,
  UNKNOWN_PARTICIPANT: 422,
  IDEMPOTENCY_KEY_REUSED: 422,
  RATE_LIMITED: 429,
  INTERNAL: 500,
  CHAIN_UNAVAILABLE: 503,
  STORAGE_UNAVAILABLE: 503,
};

export function statusOf(code: string): number {
  return STATUS[code] ?? 400;
}

export function sendError(res: Response, code: string, message: string): void {
  res.status(statusOf(code)).json({ error: { code, message } });
}
