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
  const lines: { method: string; route: string; status: number; ms: number; msg: string; err?: string }[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _enc, done) {
      for (const l of chunk.toString("utf8").split("\n")) if (l) lines.push(JSON.parse(l) as (typeof lines)[number]);
      done();
    },
  });

  before(async () => {
    ({ dir, ledger } = await openTestLedger());
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

  it("log an internal error with any URL in it cut to its host, and answer it without its text", async () => {
    // A node's URL in a failure's message (ethers quotes it) carries the operator's API key.
    const failing = await serveApp(ledger, {
      log: pino({ level: "info" }, sink),
      info: () => {
        throw new Error("could not reach https://rpc.example/v2/SECRET-API-KEY-123");
      },
    });
    try {
      const res = await fetch(`${failing.url}/v1/log`);
      expect(res.status).to.equal(500);
      const body = await res.text();
      expect(JSON.parse(body)).to.deep.equal({ error: { code: "INTERNAL", message: "internal error" } });
      await new Promise((r) => setImmediate(r));
      const logged = lines.filter((l) => l.msg === "internal error");
      expect(logged.map((l) => l.err)).to.deep.equal(["could not reach https://rpc.example/…"]);
      expect(JSON.stringify(lines)).not.to.contain("SECRET-API-KEY");
    } finally {
      await failing.close();
    }
  });
});
