// Prints the JavaScript the first page (Overview, at /) loads, gzipped: the
// entry chunk, the Overview page's chunk and their static imports, from
// Vite's manifest. Fails above the budget of issue 13 (300 kB).
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { gzipSync } from "node:zlib";

const dir = "dist/app";
const budget = 300 * 1024;
const manifest = JSON.parse(readFileSync(join(dir, ".vite/manifest.json"), "utf8"));
const files = new Set();
const visit = (key) => {
  const chunk = manifest[key];
  if (!chunk || files.has(chunk.file)) return;
  files.add(chunk.file);
  for (const imp of chunk.imports ?? []) visit(imp);
};
visit("index.html");
visit("src/pages/Overview.tsx");
let total = 0;
for (const f of files) {
  const gz = gzipSync(readFileSync(join(dir, f))).length;
  total += gz;
  console.log(`  ${f}: ${(gz / 1024).toFixed(1)} kB gzipped`);
}
console.log(`first-page JavaScript: ${(total / 1024).toFixed(1)} kB gzipped (budget ${budget / 1024} kB)`);
if (files.size < 2 || total > budget) {
  console.error(files.size < 2 ? "size: entry or Overview chunk not found in the manifest" : "size: over budget");
  process.exit(1);
}
