import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { clientJsonSchema, serverJsonSchema } from '../src/index.js';
import { clientFrames, serverFrames } from './fixtures.js';

const committed = (name: string) =>
  JSON.parse(readFileSync(new URL(`../schema/${name}`, import.meta.url), 'utf8')) as Record<
    string,
    unknown
  >;

describe('JSON Schema export', () => {
  // If this fails, the Zod schemas changed: run `pnpm schema` and commit packages/protocol/schema.
  it('committed client-frames.json matches the Zod schemas', () => {
    expect(committed('client-frames.json')).toEqual(clientJsonSchema());
  });

  it('committed server-frames.json matches the Zod schemas', () => {
    expect(committed('server-frames.json')).toEqual(serverJsonSchema());
  });

  it('has one branch per frame type, each pinning its type constant', () => {
    for (const [schema, frames] of [
      [clientJsonSchema(), clientFrames],
      [serverJsonSchema(), serverFrames],
    ] as const) {
      const branches = (schema.oneOf ?? schema.anyOf) as Array<{
        properties: { type: { const: string } };
      }>;
      expect(branches.map((b) => b.properties.type.const).sort()).toEqual(
        Object.keys(frames).sort(),
      );
    }
  });
});
