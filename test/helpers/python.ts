/** Runs the independent Python implementation's scripts (test/core/vectors/). */
import { spawn } from "node:child_process";
import path from "node:path";
import { ROOT } from "./scripts.js";

const VECTORS = path.join(ROOT, "test/core/vectors");

/**
 * Runs `script` with `args`, its output (stdout, then stderr as it comes)
 * and exit status. Asynchronous: the service a script reads may answer from
 * this process's event loop.
 */
export function runVectorsScript(script: string, args: string[]): Promise<{ status: number | null; out: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn("python3", [path.join(VECTORS, script), ...args], {
      cwd: VECTORS,
      // Codes and orders beyond ASCII in argv and in what it prints, whatever the locale.
      env: { ...process.env, PYTHONUTF8: "1" },
    });
    let out = "";
    child.stdout.on("data", (d: Buffer) => (out += d.toString("utf8")));
    child.stderr.on("data", (d: Buffer) => (out += d.toString("utf8")));
    child.on("error", reject);
    child.on("close", (status) => resolve({ status, out }));
  });
}
