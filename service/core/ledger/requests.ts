/**
 * Event requests (SPEC §8 `POST /v1/events`): what a participant asks for,
 * before the service assigns time, prev, salts and commitments.
 */
import { z } from "zod";
import { attrString, hex32, nonEmptyAttr, orderRef, participantId, rfc3339, role } from "./schema.js";

const code = z.string().min(1).max(1024);
const target = { code: code.optional(), key: hex32.optional() };

export const eventRequest = z
  .discriminatedUnion("type", [
    z.strictObject({ type: z.literal("participant"), id: participantId, role, name: nonEmptyAttr }),
    z.strictObject({
      type: z.literal("issue"),
      code,
      sku: nonEmptyAttr,
      batch: attrString.optional(),
      expires: rfc3339.optional(),
      face: attrString.optional(),
    }),
    z.strictObject({ type: z.literal("transfer"), ...target, to: participantId }),
    z.strictObject({ type: z.literal("sell"), ...target, order: orderRef }),
    z.strictObject({ type: z.literal("redeem"), ...target }),
    z.strictObject({ type: z.literal("void"), ...target, reason: attrString }),
  ])
  .refine((r) => r.type === "participant" || r.type === "issue" || (r.code === undefined) !== (r.key === undefined), {
    message: "give exactly one of code or key",
  });

export type EventRequest = z.infer<typeof eventRequest>;
