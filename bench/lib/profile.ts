/**
 * `--profile`: summarises the V8 CPU profiles the servers wrote (self time per function, top N),
 * so the hot path of each system can be compared in the same run. Idle samples are left out;
 * process start-up (module loading) is included, so profile runs should be a few seconds long.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';

interface Node {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  hitCount?: number;
}

export function summarise(dir: string, top = 25): string {
  if (!existsSync(dir)) return '';
  const lines: string[] = [];
  for (const system of readdirSync(dir)) {
    const files = readdirSync(join(dir, system)).filter((f) => f.endsWith('.cpuprofile'));
    const self = new Map<string, number>();
    let total = 0;
    for (const f of files) {
      const p = JSON.parse(readFileSync(join(dir, system, f), 'utf8')) as {
        nodes: Node[];
        samples: number[];
      };
      const byId = new Map(p.nodes.map((n) => [n.id, n]));
      for (const id of p.samples) {
        const n = byId.get(id)!;
        const url = n.callFrame.url.replace(/^file:\/\//, '');
        const where = url ? `${relative(process.cwd(), url)}:${n.callFrame.lineNumber + 1}` : '';
        const fn = n.callFrame.functionName || '(anonymous)';
        if (fn === '(idle)') continue;
        const key = `${fn}\t${where}`;
        self.set(key, (self.get(key) ?? 0) + 1);
        total++;
      }
    }
    lines.push(
      `### CPU profile: ${system} (${files.length} profile(s); self time, % of busy samples)`,
      '',
    );
    lines.push('| self % | function | location |', '| --- | --- | --- |');
    for (const [k, v] of [...self].sort((a, b) => b[1] - a[1]).slice(0, top)) {
      const [fn, loc] = k.split('\t');
      lines.push(`| ${((v / total) * 100).toFixed(1)} | ${fn} | ${loc} |`);
    }
    lines.push('');
  }
  return lines.join('\n');
}
