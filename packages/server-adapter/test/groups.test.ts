/**
 * `Groups` (src/groups.ts) against the Map of Sets it replaces: random adds, deletes and loops
 * that delete while they iterate, the same answers after every step. Fixed seeds; a failure
 * prints fast-check's seed and path.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { Groups } from '../src/groups.js';

interface Item {
  readonly n: number;
}

const ITEMS: Item[] = Array.from({ length: 5 }, (_, n) => ({ n }));
const KEYS = ['a', 'b', 'c'];

type Op =
  | { op: 'add' | 'delete'; key: string; item: number }
  | { op: 'loop'; key: string; removeAt: number[][] };

const opArb: fc.Arbitrary<Op> = fc.oneof(
  fc.record({
    op: fc.constantFrom('add' as const, 'delete' as const),
    key: fc.constantFrom(...KEYS),
    item: fc.nat(ITEMS.length - 1),
  }),
  fc.record({
    op: fc.constant('loop' as const),
    key: fc.constantFrom(...KEYS),
    // At the i-th value visited, delete these items (by index) from the group.
    removeAt: fc.array(fc.array(fc.nat(ITEMS.length - 1), { maxLength: 3 }), { maxLength: 3 }),
  }),
);

/** The reference: what the hub and the memory engine used before (a Set per key). */
class Reference {
  readonly map = new Map<string, Set<Item>>();
  add(key: string, v: Item): boolean {
    let s = this.map.get(key);
    const fresh = s === undefined;
    if (s === undefined) {
      s = new Set();
      this.map.set(key, s);
    }
    s.add(v);
    return fresh;
  }
  delete(key: string, v: Item): boolean {
    const s = this.map.get(key);
    if (s === undefined || !s.delete(v) || s.size > 0) return false;
    this.map.delete(key);
    return true;
  }
  forEach(key: string, fn: (v: Item) => void): void {
    for (const v of this.map.get(key) ?? []) fn(v);
  }
}

const SEEDS = [1, 2, 3, 20261128];

describe('Groups', () => {
  for (const seed of SEEDS) {
    it(`answers like a Map of Sets (seed ${seed})`, () => {
      fc.assert(
        fc.property(fc.array(opArb, { maxLength: 60 }), (ops) => {
          const g = new Groups<string, Item>();
          const r = new Reference();
          for (const o of ops) {
            if (o.op !== 'loop') {
              const item = ITEMS[o.item]!;
              if (o.op === 'add') expect(g.add(o.key, item)).toBe(r.add(o.key, item));
              else expect(g.delete(o.key, item)).toBe(r.delete(o.key, item));
            } else {
              // A loop that deletes as it goes visits the same values in both.
              const { key, removeAt } = o;
              const visit = (target: Groups<string, Item> | Reference, seen: number[]) => {
                let i = 0;
                target.forEach(key, (v) => {
                  seen.push(v.n);
                  for (const victim of removeAt[i++] ?? []) target.delete(key, ITEMS[victim]!);
                });
              };
              const a: number[] = [];
              const b: number[] = [];
              visit(g, a);
              visit(r, b);
              expect(a).toEqual(b);
            }
            expect(g.size).toBe(r.map.size);
            for (const key of KEYS) {
              const want = [...(r.map.get(key) ?? [])];
              expect(g.values(key)).toEqual(want);
              expect(g.count(key)).toBe(want.length);
              for (const item of ITEMS) expect(g.has(key, item)).toBe(want.includes(item));
            }
          }
        }),
        { seed, numRuns: 300 },
      );
    });
  }

  it('holds a lone value without a Set', () => {
    const g = new Groups<string, Item>();
    g.add('a', ITEMS[0]!);
    const inner = (g as unknown as { map: Map<string, unknown> }).map.get('a');
    expect(inner).toBe(ITEMS[0]);
    g.add('a', ITEMS[1]!);
    expect((g as unknown as { map: Map<string, unknown> }).map.get('a')).toBeInstanceOf(Set);
  });
});
