import { gunzipSync } from "node:zlib";
import { expect } from "chai";
import type { Ledger } from "../../service/store/ledger.js";
import { rawGet, serveIssuedKeys, type ServedApp, type ServedLog } from "../helpers/app.js";

describe("GET /v1/entries: pages as RFC 6962's get-entries answers them", () => {
  let log: ServedLog;
  let ledger: Ledger;
  let served: ServedApp;
  let size: number;
  const get = async (start: number, end: number): Promise<{ status: number; body: Record<string, unknown> }> => {
    const res = await fetch(`${served.url}/v1/entries?start=${start}&end=${end}`);
    return { status: res.status, body: (await res.json()) as Record<string, unknown> };
  };
  const indices = (body: Record<string, unknown>): number[] => (body.entries as { index: number }[]).map((e) => e.index);
  const range = (from: number, to: number): number[] => Array.from({ length: to - from }, (_, i) => from + i);

  before(async () => {
    log = await serveIssuedKeys(1200, "ENTRIES-PAGE");
    ({ ledger, served } = log);
    size = Number(ledger.size);
  });
  after(() => log.close());

  it("answers a range of at most 1000 within the log whole, each entry as the log holds it", async () => {
    const r = await get(size - 7, size);
    expect(r.status).to.equal(200);
    expect(indices(r.body)).to.deep.equal(range(size - 7, size));
    const entries = r.body.entries as { index: number; entry: string }[];
    for (const e of entries) expect(e.entry).to.equal(await ledger.entry(BigInt(e.index)));
    expect(indices((await get(0, 1000)).body)).to.deep.equal(range(0, 1000));
  });

  it("gzips a page for a client that accepts it, and only for it (an auditor reads every page)", async () => {
    const raw = (gzip: boolean) => rawGet(`${served.url}/v1/entries?start=0&end=1000`, gzip);
    const plain = await raw(false);
    expect(plain.headers["content-encoding"]).to.equal(undefined);
    const zipped = await raw(true);
    expect(zipped.headers["content-encoding"]).to.equal("gzip");
    expect(zipped.headers.vary).to.match(/accept-encoding/i);
    expect(zipped.body.length).to.be.below(plain.body.length / 3);
    expect(gunzipSync(zipped.body).equals(plain.body)).to.equal(true);
  });

  it("answers the first 1000 of a longer range, and a range past the log's end as far as the log goes", async () => {
    expect(size).to.be.above(1200);
    const long = await get(0, 5000);
    expect(long.status).to.equal(200);
    expect(indices(long.body)).to.deep.equal(range(0, 1000));
    const tail = await get(1000, 5000);
    expect(tail.status).to.equal(200);
    expect(indices(tail.body)).to.deep.equal(range(1000, size));
  });

  it("an empty range is an empty page; a range that starts past the log, or ends before it starts, is refused", async () => {
    expect((await get(size, size)).body).to.deep.equal({ entries: [] });
    for (const [start, end] of [
      [size, size + 1],
      [size + 1, size + 1],
      [5, 4],
    ] as const) {
      const r = await get(start, end);
      expect(r.status, `${start}..${end}`).to.equal(400);
      expect((r.body.error as { code: string }).code).to.equal("INVALID_INPUT");
    }
    expect(((await get(size + 1, size + 9)).body.error as { message: string }).message).to.equal(
      `no entries from ${size + 1}: the log has ${size}`,
    );
  });
});
