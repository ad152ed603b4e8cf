/** RFC 8785 (JCS) canonical JSON, through a maintained implementation. */
import canonicalizeImpl from "canonicalize";

export function canonicalize(value: unknown): string {
  const out = canonicalizeImpl(value);
  if (out === undefined) throw new TypeError("value has no JSON representation");
  return out;
}
