/**
 * The docs' code must not lean on helpers nobody defined: every TypeScript/JavaScript block in the
 * README, docs/ and the demo's README is either a complete file of the hello world (`file=`, run by
 * docs-hello-world.test.ts), an excerpt of it (checked line by line against it, so it cannot
 * drift), or says in its first line that it is a fragment or a reference. And every repository
 * command is spelled the one way the quick start promises works with only Node and npm.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { codeBlocks } from './markdown.js';

const ROOT = fileURLToPath(new URL('../', import.meta.url));
const PAGES = [
  'README.md',
  'examples/chat/README.md',
  ...readdirSync(`${ROOT}docs`)
    .filter((f) => f.endsWith('.md'))
    .map((f) => `docs/${f}`),
];
const CODE = new Set(['ts', 'tsx', 'js', 'mjs', 'typescript', 'javascript']);
const MARKER = /^\/\/ (Fragment|Excerpt|Reference)\b/;
const HELLO = 'docs/getting-started.md';

const helloFiles = new Map(
  codeBlocks(`${ROOT}${HELLO}`)
    .filter((b) => b.file !== undefined)
    .map((b) => [b.file!, new Set(b.code.split('\n').map((l) => l.trim()))]),
);

describe('code in the docs', () => {
  it.each(PAGES)('%s: every code block is complete, an exact excerpt, or marked', (page) => {
    for (const block of codeBlocks(`${ROOT}${page}`).filter((b) => CODE.has(b.lang))) {
      const where = `${page}:${block.line}`;
      if (block.file !== undefined) {
        expect(page, `${where}: complete files belong to the hello world`).toBe(HELLO);
        continue;
      }
      const first = block.code.split('\n', 1)[0]!;
      expect(first, `${where}: first line must say Fragment, Excerpt or Reference`).toMatch(MARKER);
      const excerpt = /^\/\/ Excerpt of the hello world's (\S+)/.exec(first);
      if (first.startsWith('// Excerpt')) expect(excerpt, where).not.toBeNull();
      if (!excerpt) continue;
      const lines = helloFiles.get(excerpt[1]!);
      expect(lines, `${where}: no hello world file ${excerpt[1]}`).toBeDefined();
      for (const line of block.code.split('\n').slice(1)) {
        if (line.trim() === '') continue;
        expect(lines!.has(line.trim()), `${where}: not in ${excerpt[1]}: ${line.trim()}`).toBe(
          true,
        );
      }
    }
  });

  it.each(PAGES)('%s: repository commands use `npx pnpm@9.15.9`', (page) => {
    const text = readFileSync(`${ROOT}${page}`, 'utf8');
    const bare =
      /(?<!npx |@)\bpnpm (install|i|demo|test|build|lint|format|typecheck|check:packages|schema|bench|screenshots|run|exec|add|dev|start|backend|parley|--filter|-r|-w)\b/g;
    expect([...text.matchAll(bare)].map((m) => m[0])).toEqual([]);
  });
});
