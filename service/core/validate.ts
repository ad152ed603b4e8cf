/** One way to turn outside input into typed values: zod, failing as INVALID_INPUT. */
import type { z } from "zod";
import { invalidInput } from "./errors.js";

/** Describes a zod failure as "path: message" (just the message at the top level). */
export function describeIssue(error: z.ZodError, fallback = "invalid input"): string {
  const issue = error.issues[0];
  if (!issue) return fallback;
  return issue.path.length ? `${issue.path.join(".")}: ${issue.message}` : issue.message;
}

/** Parses `value` with `schema`, throwing a KeyProofError INVALID_INPUT that says what is wrong. */
export function checkInput<T extends z.ZodType>(schema: T, value: unknown, what?: string): z.infer<T> {
  const r = schema.safeParse(value);
  if (!r.success) throw invalidInput(`${what ? `${what}: ` : ""}${describeIssue(r.error)}`);
  return r.data;
}
