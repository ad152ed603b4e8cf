import { createHash, createHmac } from "node:crypto";
import { expect } from "chai";
import fc from "fast-check";
import { codeLookup, codeLookupWith, hmacSha256With, sha256 } from "../../service/core/index.js";

const bytes = fc.uint8Array({ maxLength: 200 });

describe("hashing", () => {
  it("sha256 of parts is SHA-256 of their concatenation, call after call (property)", () => {
    fc.assert(
      fc.property(fc.array(fc.array(bytes, { maxLength: 5 }), { minLength: 1, maxLength: 6 }), (calls) => {
        // Several calls in a row: each starts from a clean state whatever the last one left.
        const outs = calls.map((parts) => sha256(...parts));
        calls.forEach((parts, i) => {
          const want = createHash("sha256");
          for (const p of parts) want.update(p);
          expect(Buffer.from(outs[i]!).toString("hex")).to.equal(want.digest("hex"));
        });
      }),
    );
  });

  it("sha256 hands out its own array each time", () => {
    const a = sha256(new Uint8Array([1]));
    const copy = a.slice();
    sha256(new Uint8Array([2]));
    expect(a).to.deep.equal(copy);
    a.fill(0);
    expect(sha256(new Uint8Array([1]))).to.deep.equal(copy);
  });

  it("a keyed HMAC answers as HMAC-SHA256 for every message, keys longer than a block too (property)", () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 150 }), fc.array(bytes, { minLength: 1, maxLength: 5 }), (key, msgs) => {
        const mac = hmacSha256With(key);
        for (const m of msgs) expect(Buffer.from(mac(m)).toString("hex")).to.equal(createHmac("sha256", key).update(m).digest("hex"));
      }),
    );
  });

  it("codeLookupWith(pepper) agrees with codeLookup (property)", () => {
    fc.assert(
      fc.property(
        fc.uint8Array({ minLength: 32, maxLength: 32 }),
        fc.array(fc.string({ minLength: 4, maxLength: 40 }), { maxLength: 5 }),
        (pepper, codes) => {
          const lookup = codeLookupWith(pepper);
          for (const code of codes) {
            let want: Uint8Array | string;
            try {
              want = codeLookup(pepper, code);
            } catch (e) {
              want = (e as Error).message;
            }
            try {
              expect(lookup(code)).to.deep.equal(want);
            } catch (e) {
              expect((e as Error).message).to.equal(want);
            }
          }
        },
      ),
    );
  });
});
