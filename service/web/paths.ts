/** Where the built verify page lives (kept apart from build.ts so the service does not load esbuild). */
import path from "node:path";
import { fileURLToPath } from "node:url";

export const WEB_ROOT = path.dirname(fileURLToPath(import.meta.url));
export const WEB_DIST = path.join(WEB_ROOT, "dist");
