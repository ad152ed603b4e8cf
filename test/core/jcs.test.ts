/**
 * The core's JCS (service/core/jcs.ts) writes values whose members are
 * already in order with JSON.stringify and leaves the rest to the
 * `canonicalize` library: both paths must give the library's bytes, and
 * refuse what it refuses.
 */
import { expect } from "chai";
import canonicalizeImpl from "canonicalize";
import fc from "fast-check";
import { canonicalize } from "../../service/core/jcs.js";
import { KeyProofError } from "../../service/core/errors.js";

/** The same value with every object's members inserted in code-unit order. */
function sortedCopy(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(sortedCopy);
  if (v === null || typeof v !== "object") return v;
  // fromEntries defines each member, "__proto__" included, where assigning would set the prototype.
  return Object.fromEntries(
    Object.keys(v)
      .sort()
      .map((k) => [k, sortedCopy((v as Record<string, unknown>)[k])]),
  );
}

/** What the library answers: its string, or that it refused. */
function library(v: unknown): string | "refused" {
  try {
    return canonicalizeImpl(v) ?? "refused";
  } catch {
    return "refused";
  }
}

function ours(v: unknown): string | "refused" {
  try {
    return canonicalize(v);
  } catch (e) {
    if (e instanceof KeyProofError || e instanceof TypeError) return "refused";
    throw e;
  }
}

describe("JCS (RFC 8785)", () => {
  it("writes every JSON value as the library does, members in any order or already sorted (property)", () => {
    fc.assert(
      fc.property(fc.jsonValue(), (v) => {
        expect(ours(v)).to.equal(library(v));
        expect(ours(sortedCopy(v))).to.equal(library(v));
      }),
      { numRuns: 2000 },
    );
  });

  it("writes strings with any code units, lone surrogates included, as the library does or refuses them as it does (property)", () => {
    fc.assert(
      fc.property(fc.dictionary(fc.string({ unit: "binary" }), fc.string({ unit: "binary" })), (v) => {
        expect(ours(v)).to.equal(library(v));
        expect(ours(sortedCopy(v))).to.equal(library(v));
      }),
    );
  });

  it("sorts by UTF-16 code units where enumeration order differs: integer-like and astral member names", () => {
    // JavaScript enumerates integer-like names first, in numeric order: "9" before "10".
    expect(canonicalize({ "9": 1, "10": 2, a: 3 })).to.equal('{"10":2,"9":1,"a":3}');
    // U+1F600 (D83D DE00) sorts before U+FF61 by code unit, after it by code point.
    expect(canonicalize(sortedCopy({ "\uff61": 1, "\u{1F600}": 2 }))).to.equal('{"\u{1F600}":2,"\uff61":1}');
  });

  it("gives what is not plain JSON to the library: toJSON, dates, boxed values, null prototypes, -0, deep nesting", () => {
    const deep: unknown = Array.from({ length: 100 }).reduce<unknown>((inner) => ({ a: inner }), { b: 1 });
    const nullProto = Object.assign(Object.create(null) as object, { a: 1, b: [2] });
    const holey: unknown[] = [1];
    holey[2] = 3;
    for (const v of [
      { a: { toJSON: () => "x" } },
      { a: new Date(0) },
      { a: new String("s"), b: new Number(1) },
      nullProto,
      { a: -0 },
      deep,
      holey,
    ]) {
      expect(ours(v)).to.equal(library(v));
    }
  });

  it("refuses what RFC 8785 has no form for, in sorted values as in others", () => {
    for (const v of [{ a: "\ud800" }, { a: Number.NaN }, { a: Infinity }, ["\udfff"]]) {
      expect(() => canonicalize(v))
        .to.throw(KeyProofError)
        .with.property("code", "INVALID_INPUT");
    }
    expect(() => canonicalize(undefined)).to.throw(TypeError);
    expect(canonicalize({ a: undefined, b: 1 })).to.equal(library({ a: undefined, b: 1 }));
  });
});
