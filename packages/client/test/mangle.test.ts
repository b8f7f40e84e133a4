/**
 * The build mangles internal member names (tsup.config.ts): esbuild renames EVERY property with a
 * listed name, so a name that is also public (a field of an event payload, an option, a method) or
 * on the wire (a frame field, a server frame type: the decoder's table is keyed by them) would be
 * renamed in dist only — where the unit tests, which run the sources, cannot see it (`attempt` of
 * the `reconnect` event once shipped as `A`). Reads the built declaration files (needs a build).
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { INTERNAL } from '../tsup.config.js';

const read = (path: string) => readFileSync(new URL(path, import.meta.url), 'utf8');

describe('mangled member names', () => {
  const client = read('../dist/index.d.ts');
  const protocol = read('../../protocol/dist/core.d.ts');
  const frameTypes = new Set(
    [...protocol.matchAll(/^\s*type: z\.ZodMiniLiteral<"(\w+)">/gm)].map((m) => m[1]),
  );

  it('reads the frame types from the protocol declarations', () => {
    expect(frameTypes).toContain('welcome');
    expect(frameTypes).toContain('summary');
  });

  it('are no public member, option, frame field or frame type', () => {
    const clash = INTERNAL.filter((name) => {
      const member = new RegExp(`^\\s*(?:readonly |get |set )?${name}\\??\\s*[:(<]`, 'm');
      return member.test(client) || member.test(protocol) || frameTypes.has(name);
    });
    expect(clash).toEqual([]);
  });
});
