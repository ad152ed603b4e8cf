/** `npm start`: runs the KeyProof service until SIGINT/SIGTERM. */
import { Command } from "commander";
import pino from "pino";
import { errorText } from "./chain/redact.js";
import { CONFIG_HELP, loadConfig } from "./config.js";
import { startService } from "./server.js";

// Configured by the environment only: an argument is a mistake (a secret on a command line is visible to every user).
const width = Math.max(...Object.keys(CONFIG_HELP).map((k) => k.length));
new Command("keyproof")
  .description("Serve a KeyProof log: the HTTP API, the verify page and anchoring. Configured by environment variables.")
  .addHelpText(
    "after",
    `\nEnvironment (default in parentheses):\n${Object.entries(CONFIG_HELP)
      .map(([k, v]) => `  ${k.padEnd(width)}  ${v}`)
      .join("\n")}`,
  )
  // 2 for bad usage, as the tools do (commander's default is 1).
  .exitOverride((e) => process.exit(e.exitCode === 0 ? 0 : 2))
  .parse();

let config;
try {
  config = loadConfig();
} catch (e) {
  console.error((e as Error).message);
  process.exit(2);
}
const log = pino({ level: config.LOG_LEVEL });
let service;
try {
  service = await startService(config, log);
} catch (e) {
  // startService has given back what it took (ledger, chain) before this.
  log.fatal({ err: errorText(e) }, "could not start");
  process.exit(1);
}
if (service.operatorToken) {
  // Shown once, on the terminal only (not in the structured log).
  process.stderr.write(`\nOperator token (shown once, store it now): ${service.operatorToken}\n\n`);
}
for (const sig of ["SIGINT", "SIGTERM"] as const) {
  process.once(sig, () => {
    log.info({ signal: sig }, "shutting down");
    service.stop().then(
      () => process.exit(0),
      (e: unknown) => {
        log.error({ err: errorText(e) }, "shutdown failed");
        process.exit(1);
      },
    );
  });
}
