/**
 * The memory engine's presence entries (src/engines/memory/liveness.ts) against the Map of Maps
 * they replaced (userId -> connectionId -> expiresAt): random connects, refreshes, disconnects and
 * expiry checks give the same counts and report the same expiries. Fixed seeds.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { Liveness } from '../src/engines/memory/liveness.js';

type Op = {
  op: 'connect' | 'refresh' | 'disconnect' | 'live';
  user: string;
  conn: string;
  at: number;
};

const opArb: fc.Arbitrary<Op> = fc.record({
  op: fc.constantFrom(
    'connect' as const,
    'refresh' as const,
    'disconnect' as const,
    'live' as const,
  ),
  user: fc.constantFrom('u1', 'u2'),
  conn: fc.constantFrom('c1', 'c2', 'c3'),
  at: fc.nat(20),
});

/** The previous representation, operation for operation. */
class Reference {
  readonly map = new Map<string, Map<string, number>>();
  connect(user: string, conn: string, exp: number): number {
    let m = this.map.get(user);
    if (m === undefined) {
      m = new Map();
      this.map.set(user, m);
    }
    return m.set(conn, exp).size;
  }
  refresh(user: string, conn: string, exp: number): void {
    const m = this.map.get(user);
    if (m?.has(conn)) m.set(conn, exp);
  }
  disconnect(user: string, conn: string): void {
    this.map.get(user)?.delete(conn);
  }
  live(user: string, now: number, expired: (exp: number) => void): number {
    const m = this.map.get(user);
    if (m === undefined) return 0;
    for (const [id, exp] of m) {
      if (exp > now) continue;
      m.delete(id);
      expired(exp);
    }
    if (m.size === 0) this.map.delete(user);
    return m.size;
  }
}

describe('Liveness', () => {
  for (const seed of [1, 2, 20261128]) {
    it(`counts and expires like a Map of Maps (seed ${seed})`, () => {
      fc.assert(
        fc.property(fc.array(opArb, { maxLength: 80 }), (ops) => {
          const l = new Liveness();
          const r = new Reference();
          let now = 0;
          for (const o of ops) {
            now += 1;
            const exp = now + o.at;
            if (o.op === 'connect') {
              expect(l.connect(o.user, o.conn, exp)).toBe(r.connect(o.user, o.conn, exp));
            } else if (o.op === 'refresh') {
              l.refresh(o.user, o.conn, exp);
              r.refresh(o.user, o.conn, exp);
            } else if (o.op === 'disconnect') {
              l.disconnect(o.user, o.conn);
              r.disconnect(o.user, o.conn);
            }
            // Every step ends with an expiry check of both users, as liveCount does.
            for (const user of ['u1', 'u2']) {
              const a: number[] = [];
              const b: number[] = [];
              expect(l.live(user, now, (e) => a.push(e))).toBe(r.live(user, now, (e) => b.push(e)));
              expect(a.sort()).toEqual(b.sort());
            }
          }
        }),
        { seed, numRuns: 300 },
      );
    });
  }

  it('keys the sockets of a user with several by connection id (no linear search)', () => {
    const l = new Liveness();
    l.connect('bot', 'c0', 10);
    const slots = (l as unknown as { byUser: Map<string, unknown> }).byUser;
    expect(slots.get('bot')).not.toBeInstanceOf(Map);
    for (let i = 1; i < 1000; i++) l.connect('bot', `c${i}`, 10);
    expect(slots.get('bot')).toBeInstanceOf(Map);
    expect((slots.get('bot') as Map<string, unknown>).has('c999')).toBe(true);
    expect(l.live('bot', 5, () => {})).toBe(1000);
  });
});
