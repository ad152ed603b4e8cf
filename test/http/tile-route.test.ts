import { gunzipSync } from "node:zlib";
import { expect } from "chai";
import { leafHash, MemoryTree } from "../../service/core/index.js";
import type { Ledger } from "../../service/store/ledger.js";
import { entryBundle } from "../../service/http/tiles.js";
import { rawGet, serveIssuedKeys, type RawAnswer, type ServedApp, type ServedLog } from "../helpers/app.js";

describe("GET /tile/...: C2SP tlog-tiles as served", () => {
  let log: ServedLog;
  let ledger: Ledger;
  let served: ServedApp;
  let size: number;
  const raw = (path: string, gzip: boolean): Promise<RawAnswer> => rawGet(`${served.url}${path}`, gzip);
  const entries = async (from: number, to: number): Promise<Uint8Array[]> =>
    Promise.all(Array.from({ length: to - from }, async (_, i) => new TextEncoder().encode(await ledger.entry(BigInt(from + i)))));

  before(async () => {
    log = await serveIssuedKeys(300, "TILE-ROUTE");
    ({ ledger, served } = log);
    size = Number(ledger.size);
  });
  after(() => log.close());

  it("compresses entry bundles for a client that accepts gzip, and only for it; full ones are cached for good", async () => {
    const want = entryBundle(await entries(0, 256));
    const plain = await raw("/tile/entries/000", false);
    expect(plain.status).to.equal(200);
    expect(plain.headers["content-encoding"]).to.equal(undefined);
    expect(plain.body.equals(want)).to.equal(true);
    const zipped = await raw("/tile/entries/000", true);
    expect(zipped.headers["content-encoding"]).to.equal("gzip");
    expect(zipped.headers.vary).to.match(/accept-encoding/i);
    expect(zipped.headers["content-type"]).to.equal("application/octet-stream");
    expect(zipped.body.length).to.be.below(want.length / 2);
    expect(gunzipSync(zipped.body).equals(want)).to.equal(true);
    for (const r of [plain, zipped]) expect(r.headers["cache-control"]).to.equal("public, max-age=31536000, immutable");
  });

  it("serves the partial entry bundle of the newest size, compressed, without caching it for good", async () => {
    const width = size - 256;
    const r = await raw(`/tile/entries/001.p/${width}`, true);
    expect(r.status).to.equal(200);
    expect(r.headers["content-encoding"]).to.equal("gzip");
    expect(gunzipSync(r.body).equals(entryBundle(await entries(256, size)))).to.equal(true);
    expect(r.headers["cache-control"] ?? "").not.to.contain("immutable");
  });

  it("serves hash tiles as they are, whatever the client accepts: partial ones of older sizes too, and the level above", async () => {
    const leaves = async (from: number, to: number): Promise<Buffer> => Buffer.concat((await entries(from, to)).map((e) => leafHash(e)));
    const full = await raw("/tile/0/000", true);
    expect(full.headers["content-encoding"]).to.equal(undefined);
    expect(full.body.equals(await leaves(0, 256))).to.equal(true);
    expect(full.headers["cache-control"]).to.equal("public, max-age=31536000, immutable");
    // A checkpoint of size 260 needed this partial tile; the log has grown past it and still serves it.
    const older = await raw("/tile/0/001.p/4", true);
    expect(older.status).to.equal(200);
    expect(older.body.equals(await leaves(256, 260))).to.equal(true);
    // Level 1 of a tree of more than 256 entries: one hash, the root of the first 256.
    const first = new MemoryTree();
    for (const e of await entries(0, 256)) first.appendEntry(e);
    const level1 = await raw("/tile/1/000.p/1", false);
    expect(level1.status).to.equal(200);
    expect(level1.body.equals(first.root())).to.equal(true);
    expect((await raw("/tile/1/000.p/2", false)).status).to.equal(404);
  });
});
