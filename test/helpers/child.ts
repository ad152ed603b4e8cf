/**
 * Runs a helper module's exported function in a child Node process (with tsx),
 * so crash tests can SIGKILL real writers. Helpers live beside the tests and
 * only export functions: mocha loads every file under test/ and must find no
 * side effects there.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { fileURLToPath } from "node:url";

export function spawnHelper(module: string, fn: string, args: string[]): ChildProcess {
  const url = new URL(module, import.meta.url).href;
  const code = `const m = await import(${JSON.stringify(url)}); await m[${JSON.stringify(fn)}](process.argv.slice(1));`;
  return spawn(process.execPath, ["--import", "tsx", "--input-type=module", "-e", code, ...args], {
    cwd: fileURLToPath(new URL("../..", import.meta.url)),
    stdio: ["ignore", "pipe", "inherit"],
  });
}

/** Calls `onLine` for each complete stdout line of a child. */
export function onLines(child: ChildProcess, onLine: (line: string) => void): void {
  let buf = "";
  child.stdout!.setEncoding("utf8");
  child.stdout!.on("data", (chunk: string) => {
    buf += chunk;
    let nl;
    while ((nl = buf.indexOf("\n")) >= 0) {
      onLine(buf.slice(0, nl));
      buf = buf.slice(nl + 1);
    }
  });
}
