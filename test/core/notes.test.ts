import { expect } from "chai";
import {
  createSigner,
  formatCheckpoint,
  formatVerifierKey,
  openCheckpoint,
  openNote,
  parseCheckpoint,
  parseSignerKey,
  parseVerifierKey,
  signCheckpoint,
  signNote,
  toBase64,
} from "../../service/core/index.js";

// The example key and note of Go's golang.org/x/mod/sumdb/note, and of C2SP signed-note.
const PETER_VKEY = "PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW";
const PETER_SKEY = "PRIVATE+KEY+PeterNeumann+c74f20a3+AYEKFALVFGyNhPJEMzD1QIDr+Y7hfZx09iUvxdXHKDFz";
const ENOCH_VKEY = "EnochRoot+af0cfe78+ATtqJ7zOtqQtYqOo0CpvDXNlMhV3HeJDpjrASKGLWdop";
const TEXT = "If you think cryptography is the answer to your problem,\nthen you don't know what your problem is.\n";
const PETER_SIG = "\u2014 PeterNeumann x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXgKvqfqdngotpRZb6KE6RyyBwJnAM=\n";
const ENOCH_SIG = "\u2014 EnochRoot rwz+eBzmZa0SO3NbfRGzPCpDckykFXSdeX+MNtCOXm2/5n2tiOHp+vAF1aGrQ5ovTG01oOTGwnWLox33WWd1RvMc+QQ=\n";
const FOO_VKEY = "example.com/foo+530d903a+AekyeRrm56hApGFkyQR4ZCbV54Id2LKaANYcrnKv3U2k";
const FOO_NOTE =
  "This is an example message.\n\n\u2014 example.com/foo Uw2QOkn8srV1yJGh2VYRlL1Tnagv1YEq6TfXppzi2ONncAlTgK7Ztg1ERYNZXsYjOBH3mFXmRKuwHjG1Yu72IneyaQM=\n";

describe("C2SP signed notes", () => {
  it("signs the reference example byte for byte", () => {
    const signer = parseSignerKey(PETER_SKEY);
    expect(formatVerifierKey(signer)).to.equal(PETER_VKEY);
    expect(signNote(TEXT, signer)).to.equal(`${TEXT}\n${PETER_SIG}`);
  });

  it("opens the reference notes and ignores unknown keys", () => {
    const peter = parseVerifierKey(PETER_VKEY);
    expect(openNote(`${TEXT}\n${PETER_SIG}`, [peter]).text).to.equal(TEXT);
    expect(openNote(`${TEXT}\n${PETER_SIG}${ENOCH_SIG}`, [peter]).verifiedBy).to.have.length(1);
    const both = openNote(`${TEXT}\n${PETER_SIG}${ENOCH_SIG}`, [peter, parseVerifierKey(ENOCH_VKEY)]);
    expect(both.verifiedBy.map((v) => v.name)).to.deep.equal(["PeterNeumann", "EnochRoot"]);
    expect(openNote(FOO_NOTE, [parseVerifierKey(FOO_VKEY)]).text).to.equal("This is an example message.\n");
  });

  it("rejects malformed and unverifiable notes", () => {
    const peter = parseVerifierKey(PETER_VKEY);
    const good = `${TEXT}\n${PETER_SIG}`;
    const bad: [string, string][] = [
      ["missing final newline", good.slice(0, -1)],
      ["no blank line", `${TEXT}${PETER_SIG}`],
      ["bad base64", good.replace("x08go", "x08g!")],
      ["unknown-only signatures", `${TEXT}\n${ENOCH_SIG}`],
      ["duplicate signature", `${TEXT}\n${PETER_SIG}${PETER_SIG}`],
      ["altered text", good.replace("answer", "Answer")],
      ["control character", good.replace("problem,", "problem,\r")],
      ["wrong key id", good.replace("x08go/ZJ", "x08go/ZK")],
      ["no signatures", `${TEXT}\n`],
    ];
    for (const [why, note] of bad) expect(() => openNote(note, [peter]), why).to.throw();
    expect(() => parseVerifierKey(PETER_VKEY.replace("c74f20a3", "c74f20a4"))).to.throw(/does not match/);
  });

  it("round-trips KeyProof checkpoints and refuses altered ones", () => {
    const signer = createSigner("keyproof.example.com/log", new Uint8Array(32).fill(7));
    const cp = { origin: signer.name, size: 42n, logRoot: new Uint8Array(32).fill(1), mapRoot: new Uint8Array(32).fill(2) };
    const body = formatCheckpoint(cp);
    expect(body).to.equal(`keyproof.example.com/log\n42\n${toBase64(cp.logRoot)}\nkeyproof-map ${toBase64(cp.mapRoot)}\n`);
    const note = signCheckpoint(cp, signer);
    const opened = openCheckpoint(note, formatVerifierKey(signer));
    expect(opened.size).to.equal(42n);
    expect(() => openCheckpoint(note.replace("\n42\n", "\n43\n"), formatVerifierKey(signer))).to.throw();
    for (const b of ["o\n042\nAA==\nkeyproof-map AA==\n", `o\n1\n${toBase64(cp.logRoot)}\n`, `o\n1\n${toBase64(cp.logRoot)}\nmap x\n`]) {
      expect(() => parseCheckpoint(b)).to.throw();
    }
  });
});
