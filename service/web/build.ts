/**
 * Bundles the verify page for the browser with esbuild: the page script and
 * the shared core verifier in one file, served by the service (no CDN).
 */
import { copyFileSync, mkdirSync } from "node:fs";
import path from "node:path";
import { build } from "esbuild";
import { WEB_DIST, WEB_ROOT } from "./paths.js";

export { WEB_DIST };

export async function buildWeb(): Promise<void> {
  mkdirSync(WEB_DIST, { recursive: true });
  await build({
    entryPoints: [path.join(WEB_ROOT, "src/app.ts")],
    bundle: true,
    format: "esm",
    platform: "browser",
    target: ["es2022"],
    minify: true,
    sourcemap: true,
    legalComments: "linked",
    outfile: path.join(WEB_DIST, "app.js"),
    logLevel: "warning",
  });
  for (const f of ["index.html", "style.css"]) copyFileSync(path.join(WEB_ROOT, f), path.join(WEB_DIST, f));
}
