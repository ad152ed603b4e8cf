/** RFC 8785 (JCS) canonical JSON, through a maintained implementation. */
import canonicalizeImpl from "canonicalize";
import { invalidInput } from "./errors.js";

export function canonicalize(value: unknown): string {
  let out: string | undefined;
  try {
    out = canonicalizeImpl(value);
  } catch (e) {
    // What RFC 8785 has no form for: from parsed JSON that can only be a lone
    // surrogate (NaN and cycles are not JSON), so the input's fault, not ours.
    throw invalidInput(`has no RFC 8785 (JCS) form: ${e instanceof Error ? e.message : String(e)}`);
  }
  if (out === undefined) throw new TypeError("value has no JSON representation");
  return out;
}
