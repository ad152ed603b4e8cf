/**
 * The public reads of SPEC §8 (checkpoint, tiles, log, entries, proofs, key
 * states, anchors) and the service's own (health, metrics, participants).
 * They need no credentials; those a page elsewhere may read answer any
 * origin (PUBLIC_READS).
 */
import { Readable } from "node:stream";
import express, { type Response } from "express";
import compression from "compression";
import cors from "cors";
import { toHex } from "../../core/bytes.js";
import { KeyProofError } from "../../core/errors.js";
import { checkInput } from "../../core/validate.js";
import { participantId } from "../../core/ledger/schema.js";
import { CONSISTENT_READ_ATTEMPTS } from "../../bundle.js";
import type { Ledger } from "../../store/ledger.js";
import { MapVersionGone } from "../../store/map-store.js";
import { sendError } from "../errors.js";
import { wrap } from "../handler.js";
import { input } from "../input.js";
import type { Metrics } from "../metrics.js";
import { TILE_HEIGHT, TILE_WIDTH } from "../../core/log/tiles.js";
import { entryBundle, parseTilePath } from "../tiles.js";
import type { AppOptions } from "../app.js";

/** SPEC §8: `GET /v1/entries` answers at most 1000 entries a page. */
const ENTRIES_PAGE = 1000n;

/** The GET endpoints any origin may read (see `publicRead`). */
const PUBLIC_READS = ["/checkpoint", "/tile", "/v1/log", "/v1/entries", "/v1/proof", "/v1/keys", "/v1/anchors"];

export function addReadRoutes(app: express.Express, o: AppOptions, metrics: Metrics): void {
  const { ledger } = o;

  // Readable from any web page (a monitor, a second verifier hosted elsewhere):
  // they are public and need no credentials. Not /v1/verify, whose rate limit
  // per address a page could multiply by its visitors, nor the writes.
  const publicRead = cors({ origin: "*", methods: ["GET", "HEAD"], maxAge: 86_400 });
  app.use(PUBLIC_READS, publicRead);

  // Unhealthy once the ledger stopped writing: it still serves reads, but needs a restart.
  app.get("/healthz", (_req, res) => {
    const failure = ledger.writeFailure;
    res.status(failure ? 503 : 200).json({ ok: !failure, size: Number(ledger.size), ...(failure ? { error: failure.toJSON() } : {}) });
  });

  app.get(
    "/metrics",
    wrap(async (_req, res) => {
      res.type(metrics.registry.contentType).send(await metrics.registry.metrics());
    }),
  );

  app.get("/checkpoint", (_req, res) => {
    res.type("text/plain; charset=utf-8").set("Cache-Control", "no-cache").send(ledger.checkpoint.note);
  });

  // C2SP tlog-tiles: entry bundles (JSON text, a quarter to a third of it
  // once compressed) SHOULD be compressed, for a client that accepts it; hash
  // tiles are random bytes and would not shrink.
  // (The filter: compression's own would pass over application/octet-stream.)
  app.use("/tile/entries/", compression({ filter: () => true }));
  // A page of /v1/entries is JSON text too (some 400 bytes an entry, most of
  // it hex), and an auditor reads every page: gzip, for a client that asks;
  // so is the anchor list (anchorsRoute).
  app.use("/v1/entries", compression({ level: 1 }));
  app.use("/v1/anchors", compression({ level: 1 }));
  // Full tiles never change: cached for good. A partial one is a tile's start as of one checkpoint.
  const immutable = (res: Response): Response => res.set("Cache-Control", "public, max-age=31536000, immutable");
  app.get(
    /^\/tile\/(.+)$/,
    wrap(async (req, res) => {
      const t = parseTilePath((req.params as Record<string, string>)[0] ?? "");
      if (!t) return sendError(res, "NOT_FOUND", "not a tile path");
      const size = ledger.size;
      if (t.level === "entries") {
        const start = t.index * BigInt(TILE_WIDTH);
        if (start + BigInt(t.width) > size) return sendError(res, "NOT_FOUND", "tile beyond the tree");
        const entries = await ledger.log.entries(start, start + BigInt(t.width));
        if (t.width === TILE_WIDTH) immutable(res);
        res.type("application/octet-stream").send(entryBundle(entries));
        return;
      }
      const levelSize = size >> BigInt(TILE_HEIGHT * t.level);
      const start = t.index * BigInt(TILE_WIDTH);
      if (start + BigInt(t.width) > levelSize) return sendError(res, "NOT_FOUND", "tile beyond the tree");
      const hashes = await ledger.log.tile(t.level, t.index, t.width);
      if (t.width === TILE_WIDTH) immutable(res);
      res.type("application/octet-stream").send(hashes);
    }),
  );

  app.get("/v1/log", (_req, res) => {
    const i = o.info();
    res.json({
      origin: i.origin,
      verifierKey: i.verifierKey,
      logId: i.logId,
      size: Number(ledger.size),
      chainId: i.chainId,
      contract: i.contract,
      rpcUrl: i.rpcUrl,
    });
  });

  // A page as RFC 6962 §4.6 answers get-entries: at most ENTRIES_PAGE entries
  // and none past the log's size, so a client that asks for more gets the
  // start of its range and asks again from the index after the last it got.
  app.get(
    "/v1/entries",
    wrap(async (req, res) => {
      const q = checkInput(input.range, req.query);
      if (q.end < q.start) throw new KeyProofError("INVALID_INPUT", "end must not be before start");
      const size = ledger.size;
      if (q.start > size || (q.start === size && q.end > q.start)) {
        throw new KeyProofError("INVALID_INPUT", `no entries from ${q.start}: the log has ${size}`);
      }
      const end = [q.end, q.start + ENTRIES_PAGE, size].reduce((a, b) => (b < a ? b : a));
      const entries = await ledger.log.entries(q.start, end);
      const dec = new TextDecoder();
      res.json({ entries: entries.map((e, i) => ({ index: Number(q.start) + i, entry: dec.decode(e) })) });
    }),
  );

  app.get(
    "/v1/proof/inclusion",
    wrap(async (req, res) => {
      const q = checkInput(input.inclusion, req.query);
      if (q.size > ledger.size || q.index >= q.size) throw new KeyProofError("INVALID_INPUT", "need index < size <= log size");
      const [proof, leaf] = await Promise.all([ledger.log.inclusionProof(q.index, q.size), ledger.log.leafHash(q.index)]);
      res.json({ index: Number(q.index), size: Number(q.size), leafHash: toHex(leaf), proof: proof.map(toHex) });
    }),
  );

  app.get(
    "/v1/proof/consistency",
    wrap(async (req, res) => {
      const q = checkInput(input.consistency, req.query);
      if (q.from < 1n || q.from > q.to || q.to > ledger.size) throw new KeyProofError("INVALID_INPUT", "need 1 <= from <= to <= log size");
      const proof = await ledger.log.consistencyProof(q.from, q.to);
      res.json({ from: Number(q.from), to: Number(q.to), proof: proof.map(toHex) });
    }),
  );

  app.get("/v1/keys/:key", wrap(keyRoute(ledger)));

  // Beyond SPEC §8: a participant's registration with its inclusion proof at
  // `size`, so that a verifier can name the ids a bundle holds, proved from
  // the log (core/bundle/participant.ts). Public, as the log's entries are;
  // the POST of the same path is the operator's and answers no other origin.
  app.get(
    "/v1/participants/:id",
    publicRead,
    wrap(async (req, res) => {
      const id = checkInput(participantId, req.params.id, "participant id");
      const q = checkInput(input.participantQuery, req.query);
      const p = ledger.participant(id);
      const index = ledger.participantEvent(id);
      if (!p || index === undefined) return sendError(res, "NOT_FOUND", "no participant has this id");
      const size = q.size ?? ledger.size;
      if (size > ledger.size || index >= size) {
        throw new KeyProofError("INVALID_INPUT", `it was registered at index ${index}: need ${index} < size <= log size ${ledger.size}`);
      }
      const [entry, inclusion] = await Promise.all([ledger.entry(index), ledger.log.inclusionProof(index, size)]);
      res.json({
        id: p.id,
        role: p.role,
        name: p.name,
        index: Number(index),
        size: Number(size),
        entry,
        inclusion: inclusion.map(toHex),
      });
    }),
  );

  app.get("/v1/anchors", wrap(anchorsRoute(o)));
}

/** GET /v1/keys/<key>: a key's state and its map proof, both as of one size. */
function keyRoute(ledger: Ledger) {
  return async (req: express.Request, res: Response): Promise<void> => {
    const key = req.params.key as string;
    if (!/^[0-9a-f]{64}$/.test(key)) throw new KeyProofError("INVALID_INPUT", "key must be 64 lowercase hex digits");
    // The state and the proof must both be as of `size`: retry if an append moved the key meanwhile.
    for (let attempt = 0; attempt < CONSISTENT_READ_ATTEMPTS; attempt++) {
      const size = ledger.size;
      const state = await ledger.keyState(key);
      const usable = state === null || BigInt(state.index) < size;
      const mapProof = await ledger.mapProof(key, size).catch((e: unknown) => {
        if (e instanceof MapVersionGone) return null; // a newer size was published meanwhile
        throw e;
      });
      if (mapProof && usable && (state === null ? mapProof.leaf?.key !== key : mapProof.leaf?.key === key)) {
        res.json({ key, size: Number(size), state, mapProof });
        return;
      }
      await new Promise((r) => setImmediate(r));
    }
    throw new Error(`could not read a consistent state and map proof for key ${key.slice(0, 8)}…`);
  };
}

/**
 * GET /v1/anchors: every anchor, as SPEC §8 has it, though a log anchored
 * every 30 s gathers about a million a year: streamed from the store as it is
 * read, so that neither the records nor the answer are ever held whole, and
 * compressed for a client that accepts it (hex roots and hashes, about half
 * their size gzipped). Beyond SPEC §8, `?from=<size>&limit=<n>` gives a page,
 * with the `next` size to ask from (docs/protocol-choices.md, HTTP).
 */
function anchorsRoute(o: AppOptions) {
  return async (req: express.Request, res: Response): Promise<void> => {
    const q = checkInput(input.anchorsPage, req.query);
    const paged = q.from !== undefined || q.limit !== undefined;
    const limit = paged ? (q.limit ?? 1000) : Infinity;
    const contract = o.info().contract;
    res.type("application/json; charset=utf-8");
    async function* answer(): AsyncGenerator<string> {
      let chunk = '{"anchors":[';
      let listed = 0;
      let next: number | null = null;
      for await (const a of o.ledger.anchors.records(q.from ?? 0n)) {
        if (a.contract !== contract) continue;
        if (listed === limit) {
          next = a.size;
          break;
        }
        const { size, logRoot, mapRoot, txHash, blockNumber, status } = a;
        chunk += (listed++ === 0 ? "" : ",") + JSON.stringify({ size, logRoot, mapRoot, txHash, blockNumber, status });
        if (chunk.length >= 64 * 1024) {
          yield chunk;
          chunk = "";
        }
      }
      yield `${chunk}]${paged ? `,"next":${next}` : ""}}`;
    }
    // Piped, not written awaiting "drain": under compression "drain" comes from
    // its gzip stream, and a listener taken off the response would stay there.
    // A store that fails before the first piece is out gets the app's error
    // answer; after it, the app cuts the connection (app.ts). A client that
    // goes away ends the generator, which closes the store's iterator.
    await new Promise<void>((resolve, reject) => {
      const body = Readable.from(answer());
      body.once("error", reject);
      res.once("close", () => {
        body.destroy();
        resolve();
      });
      body.pipe(res);
    });
  };
}
