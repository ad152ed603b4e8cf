/** fast-check arbitraries the hostile-input properties share. */
import fc from "fast-check";

/**
 * One UTF-16 unit of any value, lone surrogates and controls among them:
 * fast-check's strings are printable ASCII unless told otherwise.
 */
export const utf16Unit = fc.integer({ min: 0, max: 0xffff }).map((c) => String.fromCharCode(c));
