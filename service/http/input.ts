/**
 * The zod schemas of what clients send: query strings, bodies, headers.
 * Built once: zod compiles a schema on its first use, which costs more than
 * the parse itself when a handler builds a fresh one per request.
 */
import { z } from "zod";
import { nonEmptyAttr, orderRef, participantId, role } from "../core/ledger/schema.js";

/** A log size or index in a query string: decimal, no leading zeros, below 2^64. */
const u64 = z
  .string()
  .regex(/^(0|[1-9][0-9]{0,19})$/, "must be a non-negative integer")
  .transform((s) => BigInt(s))
  .refine((n) => n < 1n << 64n, "must fit in 64 bits");

export const input = {
  range: z.object({ start: u64, end: u64 }),
  inclusion: z.object({ index: u64, size: u64 }),
  consistency: z.object({ from: u64, to: u64 }),
  verify: z.strictObject({ code: z.string().min(1).max(1024), order: orderRef.optional() }),
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
  participant: z.strictObject({ id: participantId, role, name: nonEmptyAttr }),
  participantQuery: z.strictObject({ size: u64.optional() }),
};
