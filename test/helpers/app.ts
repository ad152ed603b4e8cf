/** The HTTP app alone over a ledger (real or faked), on a free port of 127.0.0.1, without a chain. */
import { createServer, request } from "node:http";
import type { AddressInfo } from "node:net";
import pino from "pino";
import { createApp, type AppOptions } from "../../service/http/app.js";
import type { Ledger } from "../../service/store/ledger.js";
import { closeTestLedger, openTestLedger } from "./ledger.js";

export interface ServedApp {
  url: string;
  close: () => Promise<void>;
}

export async function serveApp(ledger: Ledger, options: Partial<Omit<AppOptions, "ledger">> = {}): Promise<ServedApp> {
  const app = createApp({
    ledger,
    log: pino({ level: "silent" }),
    info: () => ({ origin: "o", verifierKey: "k", logId: "0x", chainId: null, contract: null, rpcUrl: null }),
    anchorer: () => null,
    verifyRateLimit: 100,
    bodyLimit: "1mb",
    ...options,
  });
  const server = createServer(app);
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    close: () =>
      new Promise<void>((r) => {
        server.close(() => r());
        server.closeAllConnections();
      }),
  };
}

export interface RawAnswer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: Buffer;
}

/** An answer's bytes as sent (fetch would decode them), asking for gzip or not. */
export function rawGet(url: string, gzip: boolean): Promise<RawAnswer> {
  return new Promise((resolve, reject) => {
    const req = request(url, { headers: gzip ? { "accept-encoding": "gzip" } : {} }, (res) => {
      const chunks: Buffer[] = [];
      res.on("data", (c: Buffer) => chunks.push(c));
      res.on("error", reject); // a connection cut part way
      res.on("end", () => resolve({ status: res.statusCode!, headers: res.headers, body: Buffer.concat(chunks) }));
    });
    req.on("error", reject);
    req.end();
  });
}

export interface ServedLog {
  ledger: Ledger;
  served: ServedApp;
  close: () => Promise<void>;
}

/** A test ledger (its participants registered) with `keys` keys issued by acme in one request, served by the app. */
export async function serveIssuedKeys(keys: number, codePrefix: string): Promise<ServedLog> {
  const { dir, ledger } = await openTestLedger();
  const requests = Array.from({ length: keys }, (_, i) => ({ type: "issue" as const, code: `${codePrefix}-${i}`, sku: "s" }));
  await ledger.submit({ actor: "acme", requests });
  const served = await serveApp(ledger);
  return {
    ledger,
    served,
    close: async () => {
      await served.close();
      await closeTestLedger(ledger, dir);
    },
  };
}
