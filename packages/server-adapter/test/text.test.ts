/**
 * The server's UTF-8 count (src/text.ts, Node's native one here) gives what the protocol's
 * portable count gives — the bounds the memory engine and the hub enforce must not depend on
 * which one runs — for any string, lone surrogates included. Fixed seeds.
 */
import { byteLength } from '@parley/protocol';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { utf8Bytes, utf8Encode } from '../src/text.js';

// Any UTF-16 code units, so that lone and reversed surrogates are generated too.
const units = fc.string({
  unit: fc.integer({ min: 0, max: 0xffff }).map((c) => String.fromCharCode(c)),
  maxLength: 64,
});
const SEEDS = [1, 2, 20261128];

describe('utf8Bytes', () => {
  it('uses the native count under Node', () => {
    expect(utf8Bytes).not.toBe(byteLength);
  });

  for (const seed of SEEDS) {
    it(`equals the portable count and the encoder's output (seed ${seed})`, () => {
      fc.assert(
        fc.property(fc.oneof(units, fc.string({ unit: 'binary' })), (s) => {
          expect(utf8Bytes(s)).toBe(byteLength(s));
          expect(utf8Bytes(s)).toBe(new TextEncoder().encode(s).length);
          expect([...utf8Encode(s)]).toEqual([...new TextEncoder().encode(s)]);
        }),
        { seed, numRuns: 2000 },
      );
    });
  }

  it('counts the edge cases alike', () => {
    for (const s of ['', 'a', 'é', '€', '😀', '\ud83d', '\ude00', '\ude00\ud83d', 'a\ud83d😀']) {
      expect(utf8Bytes(s)).toBe(byteLength(s));
    }
  });
});
