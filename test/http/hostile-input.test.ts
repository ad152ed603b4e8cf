/**
 * Hostile input against the running service: property-based fuzzing
 * (fast-check) of every body, query parameter, path parameter and header the
 * API reads. Never a 5xx, always the SPEC §8 error shape with a stable code,
 * never a submitted code echoed back; oversized bodies refused. Then the
 * security boundaries: one participant's token cannot act as another, and the
 * verify rate limit stops enumeration.
 */
import { expect } from "chai";
import fc from "fast-check";
import path from "node:path";
import pino from "pino";
import { configSchema } from "../../service/config.js";
import { startService, type RunningService } from "../../service/server.js";
import { utf16Unit } from "../helpers/arbitraries.js";
import { cleanup, tempDir } from "../helpers/ledger.js";

const OPERATOR = "operator-token-for-fuzz-tests-0123456";
const STABLE = new Set([
  "INVALID_INPUT",
  "UNAUTHORIZED",
  "FORBIDDEN_ROLE",
  "NOT_HOLDER",
  "NOT_ISSUER",
  "UNKNOWN_KEY",
  "NOT_FOUND",
  "DUPLICATE_KEY",
  "DOUBLE_SALE",
  "ALREADY_REDEEMED",
  "KEY_VOID",
  "ANCHORING_OFF",
  "PAYLOAD_TOO_LARGE",
  "UNKNOWN_PARTICIPANT",
  "IDEMPOTENCY_KEY_REUSED",
  "RATE_LIMITED",
]);
const RUNS = 150;

describe("hostile input and security boundaries", function () {
  this.timeout(300_000);
  const dir = tempDir("keyproof-fuzz-");
  let svc: RunningService;
  const tokens: Record<string, string> = {};

  type Answer = { status: number; body: unknown; text: string };
  const send = async (method: string, p: string, body?: string, headers: Record<string, string> = {}): Promise<Answer> => {
    const res = await fetch(`${svc.url}${p}`, {
      method,
      headers: { "content-type": "application/json", ...headers },
      ...(body !== undefined ? { body } : {}),
    });
    const text = await res.text();
    let parsed: unknown;
    try {
      parsed = JSON.parse(text);
    } catch {
      parsed = undefined;
    }
    return { status: res.status, body: parsed, text };
  };
  /**
   * `send` with headers drawn at random: null when fetch itself refuses a
   * header value (not a ByteString), so nothing reached the service.
   */
  const sendWithHeaders = async (
    method: string,
    p: string,
    body: string | undefined,
    headers: Record<string, string>,
  ): Promise<Answer | null> => {
    try {
      return await send(method, p, body, headers);
    } catch (e) {
      expect(e).to.be.instanceOf(TypeError);
      return null;
    }
  };
  /** The property every answer must have. */
  const sane = (a: Answer, what: string): void => {
    expect(a.status, `${what} -> ${a.status} ${a.text.slice(0, 200)}`).to.be.below(500);
    if (a.status >= 400) {
      const code = (a.body as { error?: { code?: unknown } } | undefined)?.error?.code;
      expect(STABLE.has(code as string), `${what} -> ${a.text.slice(0, 200)}`).to.equal(true);
    }
  };
  const auth = (who: string) => ({ authorization: `Bearer ${tokens[who]}` });

  before(async () => {
    const config = configSchema.parse({
      PORT: "0",
      DATA_DIR: path.join(dir, "data"),
      OPERATOR_TOKEN: OPERATOR,
      ANCHORING: "off",
      LOG_LEVEL: "silent",
      VERIFY_RATE_LIMIT: "1000000",
      BODY_LIMIT: "64kb",
    });
    svc = await startService(config, pino({ level: "silent" }));
    tokens.operator = OPERATOR;
    for (const [id, role] of [
      ["acme", "issuer"],
      ["shop-a", "seller"],
    ] as const) {
      const r = await send("POST", "/v1/participants", JSON.stringify({ id, role, name: id }), auth("operator"));
      tokens[id] = (r.body as { token: string }).token;
    }
    const r = await send(
      "POST",
      "/v1/events",
      JSON.stringify({ events: [{ type: "issue", code: "FUZZ-0000-SEED", sku: "s" }] }),
      auth("acme"),
    );
    expect(r.status).to.equal(200);
  });
  after(async () => {
    await svc?.stop();
    cleanup(dir);
  });

  /** Text of any UTF-16 units, lone surrogates and controls among them (JSON escapes them all). */
  const anyUnits = fc.string({ unit: utf16Unit });
  const text = fc.oneof(fc.string(), anyUnits);
  /** Near-valid event requests: real types and field names with arbitrary values, plus arbitrary extras. */
  const eventish = fc.record(
    {
      type: fc.oneof(fc.constantFrom("issue", "transfer", "sell", "redeem", "void", "participant"), fc.string()),
      code: fc.oneof(text, fc.constant("FUZZ-0000-SEED"), fc.integer()),
      key: fc.oneof(
        fc.uint8Array({ minLength: 32, maxLength: 32 }).map((b) => Buffer.from(b).toString("hex")),
        fc.string(),
      ),
      sku: fc.oneof(text, fc.string({ minLength: 257, maxLength: 300 })),
      order: text,
      to: fc.oneof(fc.constantFrom("acme", "shop-a", "operator", "ghost"), fc.string()),
      expires: fc.oneof(
        fc.date({ noInvalidDate: true }).map((d) => d.toISOString()),
        fc.string(),
      ),
      reason: text,
      actor: fc.constantFrom("acme", "shop-a", "operator"),
      id: fc.string(),
      role: fc.string(),
      name: text,
    },
    { requiredKeys: [] },
  );

  it("POST /v1/events: arbitrary JSON, near-valid events and broken bodies", async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.oneof(
          fc.jsonValue().map((v) => JSON.stringify(v)),
          fc.array(eventish, { maxLength: 5 }).map((events) => JSON.stringify({ events })),
          fc.string(),
        ),
        fc.constantFrom("acme", "shop-a", "operator"),
        // An Idempotency-Key (fast-check's strings are printable ASCII, which any client sends as drawn).
        fc.option(fc.string(), { nil: undefined }),
        // No query, the inclusion proofs option, or any query string.
        fc.oneof(
          fc.constantFrom("", "?proof=inclusion"),
          fc.tuple(fc.string(), fc.string()).map(([k, v]) => `?${encodeURIComponent(k)}=${encodeURIComponent(v)}`),
        ),
        async (body, who, idem, query) => {
          const headers = { ...auth(who), ...(idem !== undefined ? { "idempotency-key": idem } : {}) };
          sane(await send("POST", `/v1/events${query}`, body, headers), `POST /v1/events${query} ${body.slice(0, 100)}`);
        },
      ),
      { numRuns: RUNS * 2 },
    );
  });

  it("refuses a lone surrogate, which JSON can escape, in anything the log would commit to, and logs nothing of it", async () => {
    const size = async () => ((await send("GET", "/v1/log")).body as { size: number }).size;
    const before = await size();
    for (const [who, event] of [
      ["acme", '{"type":"issue","code":"LONE-0000-0001","sku":"s\\ud800"}'],
      ["acme", '{"type":"issue","code":"LONE-\\udc00-0002","sku":"s"}'],
      ["shop-a", '{"type":"sell","code":"FUZZ-0000-SEED","order":"order-\\ud800"}'],
    ] as const) {
      // With an Idempotency-Key the body is hashed in its JCS form, which it has none of.
      for (const idem of [{}, { "idempotency-key": "lone-1" }] as Record<string, string>[]) {
        const a = await send("POST", "/v1/events", `{"events":[${event}]}`, { ...auth(who), ...idem });
        expect(a.status, a.text).to.equal(400);
        expect((a.body as { error: { code: string } }).error.code).to.equal("INVALID_INPUT");
      }
    }
    for (const body of ['{"code":"FUZZ-0000-SEED","order":"o-\\ud800"}', '{"code":"FUZZ-\\ud800-SEED"}']) {
      const v = await send("POST", "/v1/verify", body);
      expect(v.status, v.text).to.equal(400);
      expect((v.body as { error: { code: string } }).error.code).to.equal("INVALID_INPUT");
    }
    expect(await size()).to.equal(before);
  });

  it("POST /v1/verify and /v1/participants: arbitrary bodies; a code is never echoed in an error", async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.oneof(
          fc.record({ code: fc.string({ minLength: 8 }), order: fc.option(text, { nil: undefined }) }, { requiredKeys: ["code"] }),
          fc.jsonValue(),
        ),
        async (v) => {
          const a = await send("POST", "/v1/verify", JSON.stringify(v));
          sane(a, `verify ${JSON.stringify(v).slice(0, 100)}`);
          const code = (v as { code?: unknown } | null)?.code;
          if (a.status >= 400 && typeof code === "string" && code.trim().length >= 8)
            expect(a.text).not.to.contain(JSON.stringify(code).slice(1, -1));
        },
      ),
      { numRuns: RUNS },
    );
    await fc.assert(
      fc.asyncProperty(fc.jsonValue(), fc.constantFrom("operator", "acme"), async (v, who) => {
        sane(await send("POST", "/v1/participants", JSON.stringify(v), auth(who)), `participants ${JSON.stringify(v).slice(0, 100)}`);
      }),
      { numRuns: RUNS },
    );
  });

  it("POST /v1/participants/:id/token and /v1/anchor: any id, body and token", async () => {
    // A participant of its own to rotate: the tokens the other cases use must stay valid.
    const r = await send("POST", "/v1/participants", JSON.stringify({ id: "rotated", role: "seller", name: "r" }), auth("operator"));
    expect(r.status).to.equal(201);
    const someId = fc.oneof(
      fc.string().filter((id) => id !== "acme" && id !== "shop-a"),
      fc.constantFrom("rotated", "operator", "ghost", "ROTATED", "", "..", "a".repeat(65)),
    );
    const body = fc.oneof(
      fc.jsonValue().map((v) => JSON.stringify(v)),
      fc.string(),
    );
    const who = fc.oneof(
      fc.constantFrom("operator", "acme", "shop-a").map(auth),
      // (fast-check's strings are printable ASCII, which any client sends as drawn.)
      fc.string().map((t) => ({ authorization: t })),
      fc.constant({}),
    );
    await fc.assert(
      fc.asyncProperty(someId, body, who, async (id, b, headers) => {
        const p = `/v1/participants/${encodeURIComponent(id)}/token`;
        const a = await send("POST", p, b, headers);
        sane(a, `POST ${p} ${b.slice(0, 100)}`);
        // Only the operator replaces a token, and only a registered participant's.
        if (a.status < 400) expect([headers, id]).to.deep.equal([auth("operator"), "rotated"]);
        sane(await send("POST", "/v1/anchor", b, headers), `POST /v1/anchor ${b.slice(0, 100)}`);
      }),
      { numRuns: RUNS },
    );
  });

  it("every query and path parameter: entries, proofs, keys, tiles, anchor pages, participants; under any Accept-Encoding", async () => {
    const num = fc.oneof(
      fc.bigInt({ min: -5n, max: 1n << 70n }).map(String),
      fc.string(),
      fc.constantFrom("", "0", "1", "1e3", "0x10", "01", "-0"),
    );
    await fc.assert(
      fc.asyncProperty(
        fc.oneof(
          fc.tuple(num, num).map(([a, b]) => `/v1/entries?start=${encodeURIComponent(a)}&end=${encodeURIComponent(b)}`),
          fc.tuple(num, num).map(([a, b]) => `/v1/proof/inclusion?index=${encodeURIComponent(a)}&size=${encodeURIComponent(b)}`),
          fc.tuple(num, num).map(([a, b]) => `/v1/proof/consistency?from=${encodeURIComponent(a)}&to=${encodeURIComponent(b)}`),
          fc
            .oneof(
              fc.string(),
              fc.uint8Array({ minLength: 32, maxLength: 32 }).map((b) => Buffer.from(b).toString("hex")),
            )
            .map((k) => `/v1/keys/${encodeURIComponent(k)}`),
          fc
            .array(fc.oneof(fc.string(), fc.constantFrom("x001", "000", "000.p", "entries", "0", "256")), { maxLength: 5 })
            .map((parts) => `/tile/${parts.map(encodeURIComponent).join("/")}`),
          fc.string().map((q) => `/v1/entries?${encodeURIComponent(q)}`),
          fc.tuple(num, num).map(([a, b]) => `/v1/anchors?from=${encodeURIComponent(a)}&limit=${encodeURIComponent(b)}`),
          fc.string().map((q) => `/v1/anchors?${encodeURIComponent(q)}`),
          fc
            .tuple(fc.oneof(fc.string(), fc.constantFrom("acme", "shop-a", "operator", "ACME", "a".repeat(65))), num)
            .map(([id, size]) => `/v1/participants/${encodeURIComponent(id)}?size=${encodeURIComponent(size)}`),
          fc.string().map((q) => `/v1/participants/acme?${encodeURIComponent(q)}`),
        ),
        // The compressed routes negotiate an encoding from whatever the client accepts.
        fc.option(
          fc.oneof(
            fc.string(),
            fc.constantFrom(
              "gzip",
              "br",
              "deflate",
              "identity",
              "*",
              "gzip;q=0",
              "br;q=0.5, gzip;q=1",
              "identity;q=0",
              "*;q=0",
              "gzip;q=x",
            ),
          ),
          { nil: undefined },
        ),
        async (p, accept) => {
          const a = await sendWithHeaders("GET", p, undefined, accept === undefined ? {} : { "accept-encoding": accept });
          if (a) sane(a, `GET ${p} accept-encoding ${JSON.stringify(accept)}`);
        },
      ),
      { numRuns: RUNS * 2 },
    );
  });

  it("any Content-Type, charset and Content-Encoding, and any percent-escape in a path, raw", async () => {
    const token = fc.oneof(fc.string(), fc.constantFrom("gzip", "deflate", "br", "identity", "x-gzip", "compress", "GZIP"));
    const contentType = fc.oneof(
      fc.string(),
      fc
        .tuple(fc.constantFrom("application/json", "text/plain", "application/x-www-form-urlencoded", "*/*"), token)
        .map(([t, charset]) => `${t}; charset=${charset}`),
      fc.constantFrom("application/json; charset=latin1", "application/json; charset=utf-16", 'application/json; charset="utf-8"'),
    );
    // Escapes that decode to no UTF-8, or to none at all, beside ordinary text.
    const escaped = fc
      .array(fc.oneof(fc.constantFrom("%", "%F", "%FF", "%C0%80", "%E4%B8", "%ED%A0%80", "%00", "%2F", "%25"), fc.string()), {
        minLength: 1,
        maxLength: 4,
      })
      .map((parts) => parts.join("").replace(/[#?\s\\]/g, ""));
    await fc.assert(
      fc.asyncProperty(contentType, fc.option(token, { nil: undefined }), escaped, async (type, encoding, bit) => {
        const body = JSON.stringify({ events: [{ type: "issue", code: "FUZZ-HDRS-0001", sku: "s" }] });
        const headers = { ...auth("acme"), "content-type": type, ...(encoding !== undefined ? { "content-encoding": encoding } : {}) };
        const a = await sendWithHeaders("POST", "/v1/events", body, headers);
        if (!a) return;
        sane(a, `POST /v1/events content-type ${JSON.stringify(type)} content-encoding ${JSON.stringify(encoding)}`);
        for (const p of [`/v1/keys/${bit}`, `/v1/participants/${bit}`, `/tile/0/${bit}`]) {
          const g = await send("GET", p);
          sane(g, `GET ${p}`);
          // A GET has no body to blame.
          if (g.status === 400) expect(g.text, `GET ${p}`).not.to.match(/body/);
        }
        sane(await send("POST", `/v1/participants/${bit}/token`, "{}", auth("operator")), `POST /v1/participants/${bit}/token`);
      }),
      { numRuns: RUNS },
    );
  });

  it("refuses an oversized body with PAYLOAD_TOO_LARGE and keeps serving", async () => {
    const big = JSON.stringify({ events: [{ type: "issue", code: "FUZZ-BIG-0001", sku: "x".repeat(100_000) }] });
    const a = await send("POST", "/v1/events", big, auth("acme"));
    expect(a.status).to.equal(413);
    expect((a.body as { error: { code: string } }).error.code).to.equal("PAYLOAD_TOO_LARGE");
    const many = JSON.stringify({ events: Array.from({ length: 10_001 }, () => ({})) });
    expect((await send("POST", "/v1/events", many, auth("acme"))).status).to.be.oneOf([400, 413]);
    expect((await send("GET", "/healthz")).status).to.equal(200);
  });

  it("a participant's token acts only as that participant", async () => {
    const code = "BOUNDARY-0001-KEY";
    expect(
      (await send("POST", "/v1/events", JSON.stringify({ events: [{ type: "issue", code, sku: "s" }] }), auth("acme"))).status,
    ).to.equal(200);
    // The actor comes from the token alone: a request cannot name another one.
    const spoof = await send(
      "POST",
      "/v1/events",
      JSON.stringify({ events: [{ type: "sell", code, order: "o-1", actor: "acme" }] }),
      auth("shop-a"),
    );
    expect((spoof.body as { results: { error: { code: string } }[] }).results[0]!.error.code).to.equal("INVALID_INPUT");
    const sell = await send("POST", "/v1/events", JSON.stringify({ events: [{ type: "sell", code, order: "o-1" }] }), auth("shop-a"));
    expect((sell.body as { results: { error: { code: string } }[] }).results[0]!.error.code).to.equal("NOT_HOLDER");
    const redeem = await send("POST", "/v1/events", JSON.stringify({ events: [{ type: "redeem", code }] }), auth("shop-a"));
    expect((redeem.body as { results: { error: { code: string } }[] }).results[0]!.error.code).to.equal("NOT_ISSUER");
    const register = await send("POST", "/v1/participants", JSON.stringify({ id: "evil", role: "issuer", name: "x" }), auth("acme"));
    expect((register.body as { error: { code: string } }).error.code).to.equal("FORBIDDEN_ROLE");
    expect(
      (
        await send("POST", "/v1/events", JSON.stringify({ events: [{ type: "issue", code: "X-1234-Y", sku: "s" }] }), {
          authorization: "Bearer nope",
        })
      ).status,
    ).to.equal(401);
  });
});

describe("the verify rate limit stops enumeration", function () {
  this.timeout(60_000);
  const dir = tempDir("keyproof-ratelimit-");
  let svc: RunningService;
  const start = (name: string, extra: Record<string, string> = {}, log = pino({ level: "silent" })) =>
    startService(
      configSchema.parse({
        PORT: "0",
        DATA_DIR: path.join(dir, name),
        OPERATOR_TOKEN: OPERATOR,
        ANCHORING: "off",
        LOG_LEVEL: "silent",
        VERIFY_RATE_LIMIT: "5",
        ...extra,
      }),
      log,
    );
  /** Statuses of `n` guesses, sent as if forwarded for `client` by a proxy. */
  const guesses = async (url: string, n: number, client?: string): Promise<number[]> => {
    const statuses: number[] = [];
    for (let i = 0; i < n; i++) {
      const res = await fetch(`${url}/v1/verify`, {
        method: "POST",
        headers: { "content-type": "application/json", ...(client ? { "x-forwarded-for": client } : {}) },
        body: JSON.stringify({ code: `GUESS-${i}-0000` }),
      });
      statuses.push(res.status);
      await res.body?.cancel();
    }
    return statuses;
  };
  before(async () => (svc = await start("data")));
  after(async () => {
    await svc?.stop();
    cleanup(dir);
  });

  it("counts by the address a named proxy forwards for (TRUST_PROXY), and believes no X-Forwarded-For otherwise", async () => {
    const proxied = await start("proxied", { TRUST_PROXY: "loopback" });
    try {
      // Behind the proxy, each buyer has a budget of their own.
      expect(await guesses(proxied.url, 6, "203.0.113.7")).to.deep.equal([404, 404, 404, 404, 404, 429]);
      expect(await guesses(proxied.url, 6, "203.0.113.8")).to.deep.equal([404, 404, 404, 404, 404, 429]);
    } finally {
      await proxied.stop();
    }
    // Without TRUST_PROXY a client naming a new address each time gains nothing.
    const lines: string[] = [];
    const plain = await start("plain", {}, pino({ level: "warn" }, { write: (line: string) => void lines.push(line) }));
    try {
      const statuses: number[] = [];
      for (let i = 0; i < 6; i++) statuses.push(...(await guesses(plain.url, 1, `198.51.100.${i}`)));
      expect(statuses).to.deep.equal([404, 404, 404, 404, 404, 429]);
      // The operator is told, once, in the service's log.
      expect(lines.filter((l) => l.includes("X-Forwarded-For but TRUST_PROXY is not set"))).to.have.length(1);
    } finally {
      await plain.stop();
    }
  });

  it("answers RATE_LIMITED (429) once a client has spent its guesses, for every further guess", async () => {
    const statuses: number[] = [];
    for (let i = 0; i < 12; i++) {
      const res = await fetch(`${svc.url}/v1/verify`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ code: `GUESS-${i}-0000` }),
      });
      statuses.push(res.status);
      if (res.status === 429) expect(((await res.json()) as { error: { code: string } }).error.code).to.equal("RATE_LIMITED");
      else await res.body?.cancel();
    }
    expect(statuses.slice(0, 5)).to.deep.equal([404, 404, 404, 404, 404]);
    expect(statuses.slice(5)).to.deep.equal(Array(7).fill(429));
  });
});
