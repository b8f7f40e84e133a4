/** Fenced code blocks of a Markdown file, for the tests that run or check the docs' snippets. */
import { readFileSync } from 'node:fs';

export interface CodeBlock {
  /** The first word of the info string (`ts`, `sh`…). */
  lang: string;
  /** `file=NAME` in the info string: the block is that complete file. */
  file: string | undefined;
  code: string;
  /** 1-based line of the opening fence. */
  line: number;
}

export function codeBlocks(path: string): CodeBlock[] {
  const lines = readFileSync(path, 'utf8').split('\n');
  const blocks: CodeBlock[] = [];
  for (let i = 0; i < lines.length; i++) {
    const open = /^(\s*)(`{3,})(.*)$/.exec(lines[i]!);
    if (!open) continue;
    const [, indent, fence, info] = open;
    const body: string[] = [];
    let j = i + 1;
    while (j < lines.length && !lines[j]!.startsWith(`${indent}${fence}`)) {
      body.push(lines[j]!.slice(indent!.length));
      j++;
    }
    const words = info!.trim().split(/\s+/);
    blocks.push({
      lang: words[0] ?? '',
      file: words.find((w) => w.startsWith('file='))?.slice(5),
      code: `${body.join('\n')}\n`,
      line: i + 1,
    });
    i = j;
  }
  return blocks;
}
