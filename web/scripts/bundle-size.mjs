#!/usr/bin/env node
// bundle-size.mjs — the initial JavaScript of the built UI: the entry script of dist/index.html and
// every module it preloads, raw and gzipped (level 9, as a server would send it). Run after
// `npm run build`; `--max-kb=200` fails when the gzipped total is larger (issue 19: ≤ 200 kB).
//
//   node scripts/bundle-size.mjs [--json] [--max-kb=200]
import { readFile } from 'node:fs/promises';
import { gzipSync } from 'node:zlib';
import { fileURLToPath } from 'node:url';

const DIST = fileURLToPath(new URL('../dist/', import.meta.url));
const args = process.argv.slice(2);
const maxArg = args.find((a) => a.startsWith('--max-kb='));
const maxKb = maxArg ? Number(maxArg.split('=')[1]) : null;

const html = await readFile(`${DIST}index.html`, 'utf8');
const files = [
  ...html.matchAll(/<script[^>]+type="module"[^>]+src="\/([^"]+\.js)"/g),
  ...html.matchAll(/<link[^>]+rel="modulepreload"[^>]+href="\/([^"]+\.js)"/g),
].map((m) => m[1]);

let raw = 0;
let gzip = 0;
const rows = [];
for (const f of [...new Set(files)]) {
  const buf = await readFile(`${DIST}${f}`);
  const gz = gzipSync(buf, { level: 9 }).length;
  raw += buf.length;
  gzip += gz;
  rows.push({ file: f, raw: buf.length, gzip: gz });
}
const report = { files: rows, raw_bytes: raw, gzip_bytes: gzip, gzip_kb: Math.round((gzip / 1024) * 10) / 10 };
if (args.includes('--json')) {
  console.log(JSON.stringify(report, null, 2));
} else {
  for (const r of rows) console.log(`${(r.gzip / 1024).toFixed(1).padStart(7)} kB gz  ${(r.raw / 1024).toFixed(1).padStart(7)} kB  ${r.file}`);
  console.log(`${report.gzip_kb.toFixed(1).padStart(7)} kB gz  ${(raw / 1024).toFixed(1).padStart(7)} kB  initial JavaScript (${rows.length} files)`);
}
if (maxKb !== null && gzip / 1024 > maxKb) {
  console.error(`bundle-size: initial JavaScript is ${report.gzip_kb} kB gzipped, over ${maxKb} kB`);
  process.exit(1);
}
