/**
 * The embedded chain: an anvil process (from the @foundry-rs/anvil npm
 * package) whose state is dumped under the data directory every few seconds
 * and on exit, so a restart keeps the contract and every anchor.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { mkdirSync } from "node:fs";
import { createRequire } from "node:module";
import path from "node:path";

const require = createRequire(import.meta.url);

/** The embedded chain's id (Hardhat's and anvil's local default). */
export const EMBEDDED_CHAIN_ID = 31337;
const CHAIN_ID_HEX = `0x${EMBEDDED_CHAIN_ID.toString(16)}`;

function anvilBinary(): string {
  const pkg = `@foundry-rs/anvil-${process.platform}-${process.arch === "x64" ? "amd64" : process.arch}`;
  return require.resolve(`${pkg}/bin/anvil`);
}

export interface EmbeddedChain {
  rpcUrl: string;
  stop(): Promise<void>;
  process: ChildProcess;
}

export async function startAnvil(opts: { stateDir: string; port: number; host?: string }): Promise<EmbeddedChain> {
  mkdirSync(opts.stateDir, { recursive: true });
  const host = opts.host ?? "127.0.0.1";
  const child = spawn(
    anvilBinary(),
    [
      "--host",
      host,
      "--port",
      String(opts.port),
      "--chain-id",
      String(EMBEDDED_CHAIN_ID),
      "--state",
      path.join(opts.stateDir, "anvil-state.json"),
      "--state-interval",
      "2",
      "--silent",
    ],
    { stdio: ["ignore", "ignore", "pipe"] },
  );
  let stderr = "";
  child.stderr?.on("data", (d: Buffer) => (stderr = (stderr + d.toString()).slice(-4000)));
  const rpcUrl = `http://${host}:${opts.port}`;
  // Polled with a plain request under a timeout: a provider waits without end
  // for a network, on a port whose holder never answers, and its retries kept
  // a test process alive after anvil had exited.
  const answers = async (): Promise<boolean> => {
    try {
      const res = await fetch(rpcUrl, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ jsonrpc: "2.0", id: 1, method: "eth_chainId", params: [] }),
        signal: AbortSignal.timeout(1000),
      });
      return ((await res.json()) as { result?: unknown }).result === CHAIN_ID_HEX;
    } catch {
      return false;
    }
  };
  const deadline = Date.now() + 20_000;
  try {
    for (;;) {
      const up = await answers();
      // Checked after the answer too: another process may hold the port and answer in anvil's stead.
      if (child.exitCode !== null) throw new Error(`anvil exited (${child.exitCode}): ${stderr.trim()}`);
      if (up) break;
      if (Date.now() > deadline) throw new Error(`anvil did not answer on ${rpcUrl}: ${stderr.trim()}`);
      await new Promise((r) => setTimeout(r, 100));
    }
  } catch (e) {
    if (child.exitCode === null) child.kill("SIGKILL");
    throw e;
  }
  return {
    rpcUrl,
    process: child,
    stop: () =>
      new Promise<void>((resolve) => {
        if (child.exitCode !== null) return resolve();
        child.once("exit", () => resolve());
        child.kill("SIGTERM"); // anvil dumps its state on a graceful exit
        setTimeout(() => child.kill("SIGKILL"), 5000).unref();
      }),
  };
}
