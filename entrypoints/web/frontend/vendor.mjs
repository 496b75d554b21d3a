// Copies the pinned libraries' built files into ../static/vendor/, the only place the
// dashboard loads scripts from (CSP script-src 'self'). Run after `npm ci`; commit the copies.
import { copyFileSync, mkdirSync, readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const here = dirname(fileURLToPath(import.meta.url));
const target = join(here, "..", "static", "vendor");
const files = {
  "htmx.org/dist/htmx.min.js": "htmx.min.js",
  "htmx-ext-sse/dist/sse.min.js": "htmx-ext-sse.min.js",
  "uplot/dist/uPlot.iife.min.js": "uPlot.iife.min.js",
  "uplot/dist/uPlot.min.css": "uPlot.min.css",
};

mkdirSync(target, { recursive: true });
const versions = {};
for (const [source, name] of Object.entries(files)) {
  const pkg = source.split("/")[0];
  versions[pkg] = JSON.parse(readFileSync(join(here, "node_modules", pkg, "package.json"), "utf8")).version;
  copyFileSync(join(here, "node_modules", source), join(target, name));
  console.log(`${pkg}@${versions[pkg]}: ${source} -> static/vendor/${name}`);
}
