import { build } from 'esbuild';
import { gzipSync } from 'node:zlib';
import { readFileSync } from 'node:fs';
const cfg = readFileSync(new URL('../tsup.config.ts', import.meta.url), 'utf8');
const INTERNAL = [...cfg.matchAll(/^  '(\w+)',$/gm)].map((m) => m[1]);
const r = await build({ entryPoints:['src/index.ts'], bundle:true, minify:true, format:'esm', platform:'browser', target:'es2022', write:false, metafile:true, logLevel:'silent',
  mangleProps: new RegExp(`^(_[a-z]\\w*|${INTERNAL.join('|')})$`), tsconfigRaw:{compilerOptions:{useDefineForClassFields:false}}, external:[] });
const code = r.outputFiles[0].contents;
console.log(code.length, gzipSync(code,{level:9}).length);
const out = Object.values(r.metafile.outputs)[0];
for (const [k,v] of Object.entries(out.inputs).sort((a,b)=>b[1].bytesInOutput-a[1].bytesInOutput)) console.log(v.bytesInOutput, k);
