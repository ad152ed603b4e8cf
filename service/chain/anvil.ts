/**
 * The embedded chain: an anvil process (from the @foundry-rs/anvil npm
 * package) whose state is dumped under the data directory every few seconds
 * and on exit, so a restart keeps the contract and every anchor.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { mkdirSync } from "node:fs";
import { createRequire } from "node:module";
import path from "node:path";
import { JsonRpcProvider } from "ethers";

const require = createRequire(import.meta.url);

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
      "31337",
      "--state",
      path.join(opts.stateDir, "anvil-state.json"),
      "--state-interval",
      "2",
      "--silent",
    ],
    { stdio: ["ignore", "ignore", "pipe"] },
  );
  let stderr = "";
  child.stderr?.on("data", (d: Buffer) => (stderr += d.toString()).slice(-4000));
  const rpcUrl = `http://${host}:${opts.port}`;
  const provider = new JsonRpcProvider(rpcUrl, undefined, { staticNetwork: true });
  const deadline = Date.now() + 20_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`anvil exited (${child.exitCode}): ${stderr.trim()}`);
    try {
      await provider.getBlockNumber();
      break;
    } catch {
      if (Date.now() > deadline) {
        child.kill("SIGKILL");
        throw new Error(`anvil did not answer on ${rpcUrl}: ${stderr.trim()}`);
      }
      await new Promise((r) => setTimeout(r, 100));
    }
  }
  provider.destroy();
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
