/**
 * Hostile input to the parsers every verifier runs: signed notes and
 * checkpoints, and the CSV import's rows and files. Property-based: whatever
 * arrives, the answer is a result or the parser's own error, never a crash.
 */
import { expect } from "chai";
import fc from "fast-check";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import {
  createSigner,
  formatVerifierKey,
  NoteError,
  openCheckpoint,
  parseNote,
  parseVerifierKey,
  signCheckpoint,
} from "../../service/core/index.js";
import { eventRequest } from "../../service/core/ledger/requests.js";
import type { KeyProofApi } from "../../service/client/api.js";
import { ImportError, importCsv, rowToRequest, IMPORT_MODES } from "../../service/tools/csv-import.js";
import { utf16Unit } from "../helpers/arbitraries.js";

const signer = createSigner("fuzz.example/log", new Uint8Array(32).fill(7));
const vkey = formatVerifierKey(signer);
const note = signCheckpoint(
  { origin: "fuzz.example/log", size: 42n, logRoot: new Uint8Array(32).fill(1), mapRoot: new Uint8Array(32).fill(2) },
  signer,
);

/** Text that looks like a note: lines drawn from real note parts and arbitrary strings. */
const noteish = fc
  .array(fc.oneof(fc.constantFrom(...note.split("\n")), fc.string(), fc.constant(""), fc.constant("— fuzz.example/log AAAA")), {
    maxLength: 10,
  })
  .map((lines) => lines.join("\n"));

describe("hostile input: signed notes", () => {
  it("parseNote and openCheckpoint throw only NoteError on arbitrary text (property)", () => {
    fc.assert(
      fc.property(fc.oneof(fc.string(), noteish, fc.string({ unit: "binary" })), (text) => {
        for (const f of [() => parseNote(text), () => openCheckpoint(text, vkey)]) {
          try {
            f();
          } catch (e) {
            expect(e, String(e)).to.be.instanceOf(NoteError);
          }
        }
      }),
      { numRuns: 2000 },
    );
  });

  it("parseVerifierKey throws only NoteError on arbitrary keys (property)", () => {
    fc.assert(
      fc.property(
        fc.oneof(
          fc.string(),
          fc.tuple(fc.string(), fc.string(), fc.string()).map((p) => p.join("+")),
        ),
        (k) => {
          try {
            parseVerifierKey(k);
          } catch (e) {
            expect(e).to.be.instanceOf(NoteError);
          }
        },
      ),
      { numRuns: 1000 },
    );
  });
});

describe("hostile input: CSV import", () => {
  it("rowToRequest turns any row into a valid request or a reason (property)", () => {
    fc.assert(
      fc.property(
        fc.constantFrom(...IMPORT_MODES),
        fc.dictionary(
          fc.constantFrom("code", "sku", "batch", "expires", "face", "order", "x"),
          // Any UTF-16 units too: lone surrogates are no text a request may carry.
          fc.oneof(fc.string(), fc.string({ unit: utf16Unit })),
        ),
        (mode, row) => {
          const r = rowToRequest(mode, row);
          if ("request" in r) expect(eventRequest.safeParse(r.request).success).to.equal(true);
          else expect(r.error).to.be.a("string").and.not.equal("");
        },
      ),
      { numRuns: 2000 },
    );
  });

  it("importCsv on arbitrary file contents sends only valid requests and ends with a summary or an ImportError (property)", async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), "keyproof-csv-fuzz-"));
    try {
      const cell = fc.oneof(fc.string(), fc.constantFrom("ABCD-1234", '"quoted, comma"', '"open', "", " ", "2027-01-01T00:00:00Z"));
      const csvText = fc.oneof(
        fc.string(),
        fc
          .array(
            fc.array(cell, { maxLength: 6 }).map((cells) => cells.join(",")),
            { maxLength: 12 },
          )
          .map((rows) => `code,sku,batch,expires,face\n${rows.join("\n")}`),
        // Bytes that may be no text at all, read as UTF-8 or GB18030.
        fc.uint8Array({ maxLength: 200 }).map((b) => Buffer.concat([Buffer.from("code,sku\n"), b])),
      );
      const encoding = fc.constantFrom(undefined, "utf-8", "gb18030");
      let n = 0;
      await fc.assert(
        fc.asyncProperty(csvText, encoding, async (text, encoding) => {
          const file = path.join(dir, `f${n++}.csv`);
          writeFileSync(file, text);
          const sent: unknown[] = [];
          const api = {
            base: "http://fuzz.invalid",
            postEvents: async (events: unknown[]) => {
              sent.push(...events);
              return { results: events.map((_, i) => ({ ok: true as const, index: i, leafHash: "0".repeat(64) })), checkpoint: "" };
            },
          } as unknown as KeyProofApi;
          try {
            const r = await importCsv({
              file,
              mode: "issue",
              api,
              batchSize: 3,
              statePath: `${file}.state`,
              ...(encoding ? { encoding } : {}),
            });
            const c = r.state.counts;
            expect(c.accepted + c.badRows + c.duplicates).to.equal(c.rows);
          } catch (e) {
            expect(e, String(e)).to.be.instanceOf(ImportError);
          }
          for (const s of sent) expect(eventRequest.safeParse(s).success, JSON.stringify(s)).to.equal(true);
        }),
        { numRuns: 300 },
      );
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
