/**
 * The service's checkpoint signer on Node's own Ed25519 (OpenSSL). Every group
 * commit signs a checkpoint, and the pure-JS signer of the core (kept for
 * browsers and tools) spends about a millisecond a signature re-deriving the
 * key; this one derives it once. Ed25519 is deterministic, so both produce
 * the same bytes (checked by test/store/node-signer.test.ts).
 */
import { createPrivateKey, sign, type KeyObject } from "node:crypto";
import { createSigner, type NoteSigner } from "../core/note/note.js";

/** PKCS #8 header of an Ed25519 private key (RFC 8410): the 32-byte seed follows. */
const PKCS8_ED25519 = Uint8Array.from([0x30, 0x2e, 0x02, 0x01, 0x00, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x04, 0x22, 0x04, 0x20]);

export function createNodeSigner(name: string, seed: Uint8Array): NoteSigner {
  const reference = createSigner(name, seed);
  const key: KeyObject = createPrivateKey({ key: Buffer.concat([PKCS8_ED25519, seed]), format: "der", type: "pkcs8" });
  return { ...reference, sign: (text) => new Uint8Array(sign(null, text, key)) };
}
