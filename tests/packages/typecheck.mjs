#!/usr/bin/env node
// @ts-check
/**
 * `tsc -p <dir>` with `skipLibCheck: false`, restricted to the files that are ours to fix: the
 * app's own files and every declaration file under `node_modules/@parley/`, plus the global and
 * option diagnostics. Third-party declaration files are still read (our types use theirs) but
 * not checked in full: that is most of tsc's time, and their own errors under some settings
 * (msw's types `require` an ESM-only package when read from a node16 CommonJS file) are not
 * something a change here can fix.
 *
 *   node tests/packages/typecheck.mjs <directory with tsconfig.json>
 *
 * Prints the diagnostics and exits 1 when there are any.
 */
import { createRequire } from 'node:module';
import { join, resolve, sep } from 'node:path';
import { ROOT } from './packed.mjs';

/** @type {typeof import('typescript')} */
const ts = createRequire(join(ROOT, 'package.json'))('typescript');

const dir = resolve(process.argv[2] ?? '.');
const parsed = ts.getParsedCommandLineOfConfigFile(join(dir, 'tsconfig.json'), undefined, {
  ...ts.sys,
  onUnRecoverableConfigFileDiagnostic: (d) => {
    throw new Error(ts.flattenDiagnosticMessageText(d.messageText, '\n'));
  },
});
if (!parsed) throw new Error(`no tsconfig.json in ${dir}`);
const program = ts.createProgram({ rootNames: parsed.fileNames, options: parsed.options });

const nm = `${sep}node_modules${sep}`;
/** @param {string} file */
const ours = (file) => {
  const f = resolve(file);
  return !f.includes(nm) || f.includes(`${nm}@parley${sep}`);
};

const diagnostics = [
  ...parsed.errors,
  ...program.getOptionsDiagnostics(),
  ...program.getGlobalDiagnostics(),
];
for (const sf of program.getSourceFiles()) {
  if (!ours(sf.fileName)) continue;
  diagnostics.push(...program.getSyntacticDiagnostics(sf), ...program.getSemanticDiagnostics(sf));
}
if (diagnostics.length > 0) {
  process.stdout.write(
    ts.formatDiagnostics(diagnostics, {
      getCanonicalFileName: (f) => f,
      getCurrentDirectory: () => dir,
      getNewLine: () => '\n',
    }),
  );
  process.exit(1);
}
