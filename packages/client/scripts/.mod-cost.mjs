import { build, transform } from 'esbuild';
import { gzipSync } from 'node:zlib';
import { readFileSync } from 'node:fs';
const cfg = readFileSync(new URL('../tsup.config.ts', import.meta.url), 'utf8');
const INTERNAL = [...cfg.matchAll(/^  '(\w+)',$/gm)].map((m) => m[1]);
const r = await build({ entryPoints:['src/index.ts'], bundle:true, minifyIdentifiers:true, minifySyntax:true, format:'esm', platform:'browser', target:'es2022', write:false, logLevel:'silent',
  mangleProps: new RegExp(`^(_[a-z]\\w*|${INTERNAL.join('|')})$`), tsconfigRaw:{compilerOptions:{useDefineForClassFields:false}} });
const code = r.outputFiles[0].text;
const parts = code.split(/^\/\/ (.+)$/m);
const mods = [];
for (let i = 1; i < parts.length; i += 2) mods.push([parts[i], parts[i + 1]]);
const min = async (s) => (await transform(s, { minifyWhitespace: true })).code;
const all = await min(code);
const g = (s) => gzipSync(s, { level: 9 }).length;
const G = g(all);
console.log('total', all.length, G);
for (const [name] of mods) {
  const rest = mods.filter(([n]) => n !== name).map(([, c]) => c).join('\n');
  let m; try { m = await min(rest); } catch { console.log('?', name); continue; }
  const mine = await min(mods.find(([n]) => n === name)[1]).catch(() => '');
  console.log(String(G - g(m)).padStart(6), String(all.length - m.length).padStart(6), name);
}
