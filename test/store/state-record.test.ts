import { expect } from "chai";
import fc from "fast-check";
import { canonicalize, utf8, type KeyState } from "../../service/core/index.js";
import { decodeStateRecord, encodeStateRecord } from "../../service/store/state-record.js";

describe("a key's stored record: its state, then its events' log indices", () => {
  const stateArb: fc.Arbitrary<KeyState> = fc.record({
    status: fc.constantFrom("issued", "sold", "redeemed", "void"),
    issuer: fc.constantFrom("acme", "globex"),
    holder: fc.constantFrom("acme", "shop-b"),
    // Any text the schema allows, control characters and NUL among them: JCS escapes them.
    sku: fc.string({ unit: "binary", minLength: 1, maxLength: 40 }),
    events: fc.integer({ min: 1, max: 1000 }),
    head: fc.constant("ab".repeat(32)),
    index: fc.integer({ min: 0, max: 2 ** 40 }),
  });

  it("reads back what it wrote, state and indices, whatever the state's text holds (property)", () => {
    fc.assert(
      fc.property(stateArb, fc.array(fc.bigInt({ min: 0n, max: 2n ** 64n - 1n }), { maxLength: 50 }), (state, indices) => {
        const record = encodeStateRecord(utf8(canonicalize(state)), indices);
        expect(decodeStateRecord(record)).to.deep.equal({ state, indices });
      }),
    );
  });

  it("reads a record from before the indices were kept as a state without them, and refuses a torn list", () => {
    const state: KeyState = { status: "issued", issuer: "acme", holder: "acme", sku: "s", events: 1, head: "cd".repeat(32), index: 7 };
    expect(decodeStateRecord(utf8(canonicalize(state)))).to.deep.equal({ state, indices: undefined });
    const whole = encodeStateRecord(utf8(canonicalize(state)), [7n]);
    expect(() => decodeStateRecord(whole.subarray(0, whole.length - 3))).to.throw(/not a multiple of 8/);
  });
});
