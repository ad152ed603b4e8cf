/** `npm start`: runs the KeyProof service until SIGINT/SIGTERM. */
import pino from "pino";
import { errorText } from "./chain/redact.js";
import { loadConfig } from "./config.js";
import { startService } from "./server.js";

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
