import { expect } from "chai";
import fc from "fast-check";
import { createSigner, openNote, signNote } from "../../service/core/note/note.js";
import { createNodeSigner } from "../../service/store/node-signer.js";

describe("Node's Ed25519 checkpoint signer", () => {
  it("signs exactly as the core's signer (same key, same bytes)", () => {
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 32, maxLength: 32 }), fc.uint8Array({ maxLength: 300 }), (seed, text) => {
        const reference = createSigner("example.com/log", seed);
        const node = createNodeSigner("example.com/log", seed);
        expect(node.keyId).to.equal(reference.keyId);
        expect(Buffer.from(node.publicKey).toString("hex")).to.equal(Buffer.from(reference.publicKey).toString("hex"));
        expect(Buffer.from(node.sign(text)).toString("hex")).to.equal(Buffer.from(reference.sign(text)).toString("hex"));
      }),
      { numRuns: 50 },
    );
  });

  it("makes notes the core verifies", () => {
    const signer = createNodeSigner("example.com/log", new Uint8Array(32).fill(7));
    const note = signNote("example.com/log\n1\nAAAA\n", signer);
    expect(openNote(note, [signer]).text).to.equal("example.com/log\n1\nAAAA\n");
  });
});
