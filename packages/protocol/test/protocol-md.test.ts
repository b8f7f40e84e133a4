import { readFileSync } from 'node:fs';
import Ajv2020 from 'ajv/dist/2020.js';
import { describe, expect, it } from 'vitest';
import {
  clientFrameSchemas,
  clientJsonSchema,
  decodeClientFrame,
  decodeServerFrame,
  serverFrameSchemas,
  serverJsonSchema,
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

  // A team implementing the protocol in another language validates with the JSON Schema: every
  // example must pass it too.
  const ajv = new Ajv2020({ strict: false });
  const validate = {
    client: ajv.compile(clientJsonSchema()),
    server: ajv.compile(serverJsonSchema()),
  };
  it.each(blocks.map((b, i) => [i, b] as const))(
    'example %i is valid against the JSON Schema',
    (_i, { direction, json }) => {
      const valid = validate[direction];
      expect(valid(JSON.parse(json)), JSON.stringify(valid.errors)).toBe(true);
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
