/**
 * SPEC §3 event objects, validated with zod. Every object is strict: unknown
 * fields are rejected, so two verifiers never disagree about what an entry says.
 */
import { z } from "zod";
import { codePointsWithin, isWellFormed } from "../unicode.js";

export const PARTICIPANT_ID_RE = /^[a-z0-9][a-z0-9._-]{0,63}$/;
export const OPERATOR_ID = "operator";

const TIME_RE = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})\.(\d{3})Z$/;
const RFC3339_RE = /^(\d{4})-(\d{2})-(\d{2})[Tt](\d{2}):(\d{2}):(\d{2})(\.\d+)?([Zz]|[+-](\d{2}):(\d{2}))$/;

function validCalendar(m: RegExpExecArray): boolean {
  const [y, mo, d, h, mi, s] = m.slice(1, 7).map(Number) as [number, number, number, number, number, number];
  if (mo < 1 || mo > 12 || d < 1 || h > 23 || mi > 59 || s > 59) return false;
  const days = new Date(Date.UTC(y, mo, 0)).getUTCDate();
  return d <= days;
}

/** Service-assigned time: RFC 3339 UTC with exactly three fraction digits. */
export const eventTime = z.string().refine((s) => {
  const m = TIME_RE.exec(s);
  return m !== null && validCalendar(m);
}, "time must be RFC 3339 UTC with milliseconds, like 2026-11-24T10:00:00.000Z");

/** Any RFC 3339 date-time (issuers send expiry in their own offset). */
export const rfc3339 = z.string().refine((s) => {
  const m = RFC3339_RE.exec(s);
  if (m === null || !validCalendar(m)) return false;
  return m[9] === undefined || (Number(m[9]) <= 23 && Number(m[10]) <= 59);
}, "must be an RFC 3339 date-time with its offset, like 2027-12-31T23:59:59+08:00");

/** Strings counted in Unicode code points, well-formed, from `min` to `max` of them. */
function text(min: number, max: number) {
  const says = min === 0 ? `at most ${max} characters` : `${min} to ${max} characters`;
  return z
    .string()
    .refine((s) => codePointsWithin(s, min, max), says)
    .refine(isWellFormed, "must be well-formed Unicode (no lone surrogate)");
}

/** Attribute strings: at most 256 characters (Unicode code points). */
export const attrString = text(0, 256);
export const nonEmptyAttr = text(1, 256);
/** A sale's order reference, committed as given: 1 to 256 characters. */
export const orderRef = text(1, 256);

export const participantId = z.string().regex(PARTICIPANT_ID_RE, "participant ids are [a-z0-9][a-z0-9._-]{0,63}");
export const hex32 = z.string().regex(/^[0-9a-f]{64}$/, "must be 64 lowercase hex digits");
export const role = z.enum(["issuer", "seller"]);

const base = {
  v: z.literal(1),
  actor: participantId,
  time: eventTime,
};
const keyed = { ...base, key: hex32 };

export const participantEvent = z.strictObject({
  ...base,
  type: z.literal("participant"),
  attrs: z.strictObject({ id: participantId, role, name: nonEmptyAttr }),
});
export const issueEvent = z.strictObject({
  ...keyed,
  type: z.literal("issue"),
  prev: z.null(),
  attrs: z.strictObject({
    sku: nonEmptyAttr,
    batch: attrString.optional(),
    expires: rfc3339.optional(),
    face: attrString.optional(),
  }),
});
export const transferEvent = z.strictObject({
  ...keyed,
  type: z.literal("transfer"),
  prev: hex32,
  attrs: z.strictObject({ to: participantId }),
});
export const sellEvent = z.strictObject({
  ...keyed,
  type: z.literal("sell"),
  prev: hex32,
  attrs: z.strictObject({ order: hex32 }),
});
export const redeemEvent = z.strictObject({
  ...keyed,
  type: z.literal("redeem"),
  prev: hex32,
  attrs: z.strictObject({}),
});
export const voidEvent = z.strictObject({
  ...keyed,
  type: z.literal("void"),
  prev: hex32,
  attrs: z.strictObject({ reason: attrString }),
});

export const ledgerEvent = z.discriminatedUnion("type", [participantEvent, issueEvent, transferEvent, sellEvent, redeemEvent, voidEvent]);

export type LedgerEvent = z.infer<typeof ledgerEvent>;
export type KeyEvent = Exclude<LedgerEvent, { type: "participant" }>;
export type EventType = LedgerEvent["type"];
export type Role = z.infer<typeof role>;

export const keyStatus = z.enum(["issued", "sold", "redeemed", "void"]);
export type KeyStatus = z.infer<typeof keyStatus>;

/** SPEC §5 key state, the value committed in the map. */
export const keyState = z.strictObject({
  status: keyStatus,
  issuer: participantId,
  holder: participantId,
  sku: attrString,
  expires: rfc3339.optional(),
  events: z.number().int().min(1),
  head: hex32,
  index: z.number().int().min(0),
});
export type KeyState = z.infer<typeof keyState>;

export interface Participant {
  id: string;
  role: Role | "operator";
  name: string;
}
