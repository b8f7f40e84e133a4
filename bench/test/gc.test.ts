/**
 * The servers' GC counters (lib/server-host.ts `observeGc`), which the fixed-rate table reports
 * per window: mark-compacts apart from scavenges, and the pauses of both.
 */
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { describe, expect, it, vi } from 'vitest';
import { observeGc } from '../lib/server-host.js';

describe('observeGc', () => {
  it('counts the collections of this process, mark-compacts apart from scavenges', async () => {
    const gc = observeGc();
    if (gc === undefined) throw new Error('Node reports `gc` performance entries');
    const { counts } = gc;
    expect(counts).toEqual({ major: 0, minor: 0, pauseMs: 0 });
    setFlagsFromString('--expose-gc');
    const fullGc = runInNewContext('gc') as () => void;
    fullGc();
    // Short-lived objects that escape into a small ring: the young generation fills, scavenges.
    const ring: { i: number }[] = new Array(1024);
    for (let i = 0; i < 2_000_000; i++) ring[i & 1023] = { i };
    await vi.waitFor(
      () => {
        expect(counts.major).toBeGreaterThanOrEqual(1);
        expect(counts.minor).toBeGreaterThanOrEqual(1);
        expect(counts.pauseMs).toBeGreaterThan(0);
      },
      { timeout: 5000, interval: 20 },
    );
    gc.stop();
    const after = { ...counts };
    // A second observer sees the next collection; the stopped one would have seen it too.
    const witness = observeGc();
    if (witness === undefined) throw new Error('unreachable');
    fullGc();
    await vi.waitFor(() => expect(witness.counts.major).toBeGreaterThanOrEqual(1), {
      timeout: 5000,
      interval: 5,
    });
    witness.stop();
    expect(counts, 'nothing is counted after stop').toEqual(after);
  });
});
