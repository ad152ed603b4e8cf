/**
 * What "characters" means wherever SPEC.md counts them: Unicode code points
 * of well-formed text.
 */

// A lone surrogate is no Unicode text: RFC 8785 (3.2.2.2) makes JCS refuse it,
// and UTF-8 encoders write it as U+FFFD, the bytes of another string. So no
// string the log commits to, in an entry or a commitment, may hold one.
const LONE_SURROGATE_RE = /\p{Cs}/u;

/** Well-formed Unicode: no lone surrogate. */
export function isWellFormed(s: string): boolean {
  return !LONE_SURROGATE_RE.test(s);
}

/** The number of Unicode code points (a surrogate pair is one). */
export function codePoints(s: string): number {
  let n = 0;
  for (const _ of s) n++;
  return n;
}

/** Whether `s` has `min` to `max` code points: the one length check of codes, attributes and order references. */
export function codePointsWithin(s: string, min: number, max: number): boolean {
  // A code point is at most two UTF-16 units: a longer string is refused without a count.
  if (s.length > 2 * max) return false;
  const n = codePoints(s);
  return n >= min && n <= max;
}
