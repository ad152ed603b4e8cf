/** RFC 8785 (JCS) canonical JSON, through a maintained implementation. */
import canonicalizeImpl from "canonicalize";
import { invalidInput } from "./errors.js";
import { isWellFormed } from "./unicode.js";

export function canonicalize(value: unknown): string {
  // RFC 8785 is ECMAScript's JSON.stringify with every object's members in
  // UTF-16 code-unit order (its §3.2.3). The ledger builds its events and
  // key states with their members in that order, and entries parsed back
  // keep it, so those are written natively: the library's walk, sorting
  // every object's members, took some 5 % of the sequencer's thread under
  // flat-out writes (docs/figures.md, thirty-fifth session).
  if (stringifiesCanonically(value, 0)) return JSON.stringify(value);
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

/** Deeper values take the library's path, which needs no call stack per level. */
const NATIVE_MAX_DEPTH = 32;

/**
 * Whether JSON.stringify writes `value` exactly as RFC 8785 does: JSON's
 * own values only (plain objects and arrays, well-formed strings, finite
 * numbers, booleans, null), each object's members enumerated in code-unit
 * order. Anything else (a member out of order, a lone surrogate, NaN,
 * undefined, a class instance or a toJSON) is left to the library.
 */
function stringifiesCanonically(value: unknown, depth: number): boolean {
  switch (typeof value) {
    case "string":
      return isWellFormed(value);
    case "number":
      return Number.isFinite(value);
    case "boolean":
      return true;
    case "object": {
      if (value === null) return true;
      if (depth >= NATIVE_MAX_DEPTH) return false;
      if (Array.isArray(value)) {
        if (Object.getPrototypeOf(value) !== Array.prototype) return false;
        for (let i = 0; i < value.length; i++) if (!stringifiesCanonically(value[i], depth + 1)) return false;
        return true;
      }
      const proto: unknown = Object.getPrototypeOf(value);
      if (proto !== Object.prototype && proto !== null) return false;
      let previous: string | undefined;
      for (const k in value) {
        if (!Object.hasOwn(value, k)) return false;
        if (previous !== undefined && !(previous < k)) return false;
        if (!stringifiesCanonically((value as Record<string, unknown>)[k], depth + 1)) return false;
        previous = k;
      }
      return true;
    }
    default:
      return false;
  }
}
