import { Writable } from "node:stream";
import { expect } from "chai";
import pino from "pino";
import type { Ledger } from "../../service/store/ledger.js";
import { serveApp, type ServedApp } from "../helpers/app.js";
import { cleanup, openTestLedger } from "../helpers/ledger.js";

describe("request logs", () => {
  let dir: string;
  let ledger: Ledger;
  let served: ServedApp;
  const lines: { method: string; route: string; status: number; ms: number; msg: string }[] = [];

  before(async () => {
    ({ dir, ledger } = await openTestLedger());
    const sink = new Writable({
      write(chunk: Buffer, _enc, done) {
        for (const l of chunk.toString("utf8").split("\n")) if (l) lines.push(JSON.parse(l) as (typeof lines)[number]);
        done();
      },
    });
    served = await serveApp(ledger, { log: pino({ level: "info" }, sink) });
  });
  after(async () => {
    await served.close();
    await ledger.close();
    cleanup(dir);
  });

  it("name each request's route by its pattern, never by what the client put in the path", async () => {
    const key = "ab".repeat(32);
    const requests: [string, string, number, string][] = [
      ["GET", `/v1/keys/${key}`, 200, "/v1/keys/:key"],
      ["GET", "/v1/participants/acme", 200, "/v1/participants/:id"],
      ["GET", "/tile/0/x999", 404, "^\\/tile\\/(.+)$"],
      ["POST", "/v1/events", 401, "/v1/events"],
      ["POST", "/v1/verify", 400, "/v1/verify"],
      ["GET", "/CODE-IN-A-LINK-0001", 404, "(no route)"],
    ];
    for (const [method, p, status] of requests) {
      const res = await fetch(`${served.url}${p}`, {
        method,
        ...(method === "POST" ? { headers: { "content-type": "application/json" }, body: "{}" } : {}),
      });
      expect(res.status, p).to.equal(status);
      await res.arrayBuffer();
    }
    await new Promise((r) => setImmediate(r));
    const logged = lines.filter((l) => l.msg === "request");
    expect(logged.map((l) => [l.method, l.route, l.status])).to.deep.equal(requests.map(([m, , s, route]) => [m, route, s]));
    const text = JSON.stringify(lines);
    expect(text).not.to.contain(key);
    expect(text).not.to.contain("CODE-IN-A-LINK");
  });
});
