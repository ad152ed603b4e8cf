/** Runs a command-line tool from scripts/ as a user would, and collects its output. */
import { spawn, type ChildProcess } from "node:child_process";
import { fileURLToPath } from "node:url";

export const ROOT = fileURLToPath(new URL("../..", import.meta.url));

export interface ScriptRun {
  code: number | null;
  stdout: string;
  stderr: string;
}

export function runScript(script: string, args: string[], env: Record<string, string> = {}, timeoutMs = 120_000): Promise<ScriptRun> {
  return startScript(script, args, env, timeoutMs).done;
}

/**
 * Starts a tool without waiting for it: `child` can be signalled, `stderr()` read so far, `done` resolves on exit.
 * `script` names a tool in scripts/, or is a path ending in .ts (service/main.ts).
 */
export function startScript(
  script: string,
  args: string[],
  env: Record<string, string> = {},
  timeoutMs = 120_000,
): { child: ChildProcess; stderr: () => string; done: Promise<ScriptRun> } {
  const file = script.endsWith(".ts") ? script : `scripts/${script}.ts`;
  const child = spawn(process.execPath, ["--import", "tsx", file, ...args], {
    cwd: ROOT,
    env: { ...process.env, ...env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let stdout = "";
  let stderr = "";
  const done = new Promise<ScriptRun>((resolve, reject) => {
    child.stdout.on("data", (d: Buffer) => (stdout += d.toString()));
    child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
    const timer = setTimeout(() => child.kill("SIGKILL"), timeoutMs);
    child.on("error", reject);
    child.on("exit", (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
  return { child, stderr: () => stderr, done };
}
