#!/usr/bin/env node
// Top allocation sites (self bytes) of a V8 sampling heap profile, e.g. one written by a bench
// server under BENCH_ALLOC_PROFILE (bench/README.md):
//   node bench/micro/alloc-summary.mjs /tmp/alloc.json [rows=40]
import { readFileSync } from 'node:fs';

const profile = JSON.parse(readFileSync(process.argv[2], 'utf8'));
const rows = Number(process.argv[3] ?? 40);
const bySite = new Map();
let total = 0;
const walk = (node) => {
  const f = node.callFrame;
  const site = `${f.functionName || '(anonymous)'} ${f.url.split('/').slice(-2).join('/')}:${f.lineNumber + 1}`;
  total += node.selfSize;
  if (node.selfSize > 0) bySite.set(site, (bySite.get(site) ?? 0) + node.selfSize);
  for (const c of node.children) walk(c);
};
walk(profile.head);
console.log(`sampled ${(total / 1e6).toFixed(1)} MB`);
for (const [site, bytes] of [...bySite].sort((a, b) => b[1] - a[1]).slice(0, rows)) {
  console.log(
    `${((bytes / total) * 100).toFixed(1).padStart(5)} %  ${(bytes / 1e6).toFixed(1).padStart(7)} MB  ${site}`,
  );
}
