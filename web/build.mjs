// Bundles the dashboard: src/main.ts (+ its CSS imports) -> app.js + app.css, and copies
// src/index.html, all into the directory given as the only argument. Minified, no source maps,
// no external URLs: the binary embeds these three files and serves them at /ui.
import * as esbuild from 'esbuild';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
const out = process.argv[2];
if (!out) {
  console.error('usage: node build.mjs OUT_DIR');
  process.exit(2);
}
fs.mkdirSync(out, { recursive: true });

await esbuild.build({
  entryPoints: { app: path.join(here, 'src/main.ts') },
  outdir: out,
  bundle: true,
  minify: true,
  format: 'iife',
  target: ['chrome110', 'firefox110', 'safari16'],
  legalComments: 'none',
  logLevel: 'warning',
});
fs.copyFileSync(path.join(here, 'src/index.html'), path.join(out, 'index.html'));
for (const f of ['index.html', 'app.js', 'app.css']) {
  if (!fs.existsSync(path.join(out, f))) {
    console.error(`web: the build made no ${f}`);
    process.exit(1);
  }
}
