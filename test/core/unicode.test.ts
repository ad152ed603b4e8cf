/**
 * What SPEC.md's "characters" are (docs/protocol-choices.md, Commitments):
 * Unicode code points of well-formed text, in codes, attributes and order
 * references alike. A lone surrogate has no UTF-8 form (an encoder writes
 * U+FFFD, another string's bytes) and RFC 8785 has JCS refuse it, so no
 * string the log commits to may hold one.
 */
import { expect } from "chai";
import {
  codePoints,
  decodeEntry,
  encodeEvent,
  isWellFormed,
  KeyProofError,
  ledgerEvent,
  normalizeCode,
  orderCommitment,
} from "../../service/core/index.js";
import { eventRequest } from "../../service/core/ledger/requests.js";

const salt = new Uint8Array(32).fill(7);
const EMOJI = "\u{1F600}"; // one code point, two UTF-16 units
const LONE = "\ud800";

const invalid = (f: () => unknown, message: RegExp) => expect(f).to.throw(KeyProofError, message).with.property("code", "INVALID_INPUT");

describe("characters: code points of well-formed Unicode", () => {
  it("counts a surrogate pair as one code point and a lone surrogate as ill-formed", () => {
    expect(codePoints(EMOJI.repeat(3))).to.equal(3);
    expect(codePoints("卡密")).to.equal(2);
    expect(isWellFormed(`ab${EMOJI}`)).to.equal(true);
    expect(isWellFormed(`ab${LONE}`)).to.equal(false);
    expect(isWellFormed(`\udc00ab`)).to.equal(false);
    // Reversed halves are two lone surrogates, not a pair.
    expect(isWellFormed(`\ude00\ud83d`)).to.equal(false);
  });

  it("an order reference has 1 to 256 code points, however many UTF-16 units", () => {
    expect(orderCommitment(salt, EMOJI.repeat(256))).to.match(/^[0-9a-f]{64}$/);
    invalid(() => orderCommitment(salt, EMOJI.repeat(257)), /1 to 256 characters/);
    invalid(() => orderCommitment(salt, ""), /1 to 256 characters/);
    invalid(() => orderCommitment(salt, `order-${LONE}`), /well-formed/);
    // Otherwise the two would share a commitment: U+FFFD is what UTF-8 encoders write for a lone surrogate.
    expect(orderCommitment(salt, "order-\ufffd")).to.match(/^[0-9a-f]{64}$/);
  });

  it("a code with a lone surrogate is refused, as the code with U+FFFD in its place is not", () => {
    invalid(() => normalizeCode(`ABCD${LONE}`), /well-formed/);
    expect(normalizeCode("ABCD\ufffd")).to.equal("ABCD\ufffd");
  });

  it("event requests: a sale's order and every attribute counted in code points, ill-formed text refused", () => {
    const sell = (order: string) => eventRequest.safeParse({ type: "sell", code: "ABCD-1234", order });
    expect(sell(EMOJI.repeat(256)).success).to.equal(true);
    expect(sell(EMOJI.repeat(257)).success).to.equal(false);
    expect(sell(`o-${LONE}`).success).to.equal(false);
    const issue = (sku: string, extra: object = {}) => eventRequest.safeParse({ type: "issue", code: "ABCD-1234", sku, ...extra });
    expect(issue(EMOJI.repeat(256)).success).to.equal(true);
    expect(issue("").success).to.equal(false);
    expect(issue(`sku-${LONE}`).success).to.equal(false);
    expect(issue("sku", { face: `100${LONE}` }).success).to.equal(false);
    expect(eventRequest.safeParse({ type: "void", code: "ABCD-1234", reason: `x${LONE}` }).success).to.equal(false);
    expect(eventRequest.safeParse({ type: "participant", id: "p1", role: "seller", name: `n${LONE}` }).success).to.equal(false);
  });

  it("an entry whose JSON escapes a lone surrogate is malformed, though JSON.stringify would write it so", () => {
    const event = {
      v: 1,
      type: "issue",
      actor: "acme",
      time: "2026-11-24T10:00:00.000Z",
      key: "ab".repeat(32),
      prev: null,
      attrs: { sku: "game" },
    } as const;
    const good = encodeEvent(ledgerEvent.parse(event));
    expect(decodeEntry(good).type).to.equal("issue");
    const bad = good.replace('"game"', '"game\\ud800"');
    expect(JSON.parse(bad).attrs.sku).to.equal(`game${LONE}`);
    invalid(() => decodeEntry(bad), /well-formed/);
  });
});
