/** Driving a test's anvil directly: raw JSON-RPC (its own methods included), its mempool, and polling for a state; and a node that refuses everything. */
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";

/** Polls `fn` every 200 ms until it returns something other than undefined (errors count as not yet). */
export async function waitFor<T>(what: string, fn: () => Promise<T | undefined>, timeoutMs = 60_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn().catch(() => undefined);
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

/** A JSON-RPC call to the chain at `rpcUrl`. */
export async function rpc(rpcUrl: string, method: string, params: unknown[] = []): Promise<unknown> {
  const res = await fetch(rpcUrl, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ jsonrpc: "2.0", id: 1, method, params }),
  });
  const body = (await res.json()) as { result?: unknown; error?: { message: string } };
  if (body.error) throw new Error(`${method}: ${body.error.message}`);
  return body.result;
}

/** A transaction waiting in anvil's mempool (quantities in hex). */
export interface PoolTx {
  hash: string;
  nonce: string;
  maxFeePerGas: string;
}

/** What anvil's mempool holds unmined (automine off). */
export async function inPool(rpcUrl: string): Promise<PoolTx[]> {
  const { pending } = (await rpc(rpcUrl, "txpool_content")) as { pending: Record<string, Record<string, PoolTx>> };
  return Object.values(pending).flatMap((byNonce) => Object.values(byNonce));
}

/** A JSON-RPC "node" that refuses every call with 401, as a hosted node does when its key is wrong. */
export async function startRefusingNode(): Promise<{ host: string; close: () => Promise<void> }> {
  const server = createServer((req, res) => {
    req.resume();
    req.on("end", () => res.writeHead(401, { "content-type": "text/plain" }).end("invalid project id"));
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  return {
    host: `127.0.0.1:${(server.address() as AddressInfo).port}`,
    close: () => new Promise((r) => server.close(() => r())),
  };
}
