import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import {
  clientFrameSchemas,
  decodeClientFrame,
  decodeServerFrame,
  serverFrameSchemas,
} from '../src/index.js';

// Every ```json client / ```json server block in PROTOCOL.md must decode with the real codec.
const doc = readFileSync(new URL('../../../PROTOCOL.md', import.meta.url), 'utf8');
const blocks = [...doc.matchAll(/```json (client|server)\n([\s\S]*?)```/g)].map((m) => ({
  direction: m[1] as 'client' | 'server',
  json: m[2]!,
}));

describe('PROTOCOL.md examples', () => {
  it('has examples', () => {
    expect(blocks.length).toBeGreaterThan(20);
  });

  it.each(blocks.map((b, i) => [i, b] as const))(
    'example %i decodes',
    (_i, { direction, json }) => {
      const frame = direction === 'client' ? decodeClientFrame(json) : decodeServerFrame(json);
      expect(frame.type).toBeTypeOf('string');
    },
  );

  it('documents every frame type of both directions', () => {
    for (const [direction, schemas] of [
      ['client', clientFrameSchemas],
      ['server', serverFrameSchemas],
    ] as const) {
      const seen = new Set(
        blocks
          .filter((b) => b.direction === direction)
          .map((b) => (JSON.parse(b.json) as { type: string }).type),
      );
      expect([...seen].sort()).toEqual(Object.keys(schemas).sort());
    }
  });
});
