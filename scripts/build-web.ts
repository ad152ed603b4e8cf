/** Builds the buyer verify page into service/web/dist. Run: npm run build:web */
import { buildWeb, WEB_DIST } from "../service/web/build.js";

if (process.argv.includes("--help") || process.argv.includes("-h")) {
  console.log(
    "Usage: npm run build:web\n\nBundles service/web (the verify page and the core verifier) into service/web/dist with esbuild.",
  );
  process.exit(0);
}
await buildWeb();
console.log(`verify page built in ${WEB_DIST}`);
