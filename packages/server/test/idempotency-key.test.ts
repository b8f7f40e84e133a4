/**
 * The persistence callback's idempotency key is exactly what the README says, so an app in any
 * language can compute it (issue 19, item 7): SHA-256 hex of the UTF-8 of the JSON array written
 * like `JSON.stringify` — the README's example, and each serialisation rule, checked here.
 */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { idempotencyKey } from '../src/hooks.js';

const sha256 = (text: string) => createHash('sha256').update(text, 'utf8').digest('hex');
const key = (senderId: string, conversationId: string, clientMsgId: string) =>
  idempotencyKey({ senderId, conversationId, clientMsgId });

describe('idempotency key', () => {
  it("matches the README's example", () => {
    const readme = readFileSync(new URL('../README.md', import.meta.url), 'utf8');
    const row = /^\| `([^`]*)`, `([^`]*)`, `([^`]*)` \| `([^`]*)` \| `([0-9a-f]{64})` \|$/m.exec(
      readme,
    );
    expect(row, 'the example row of the idempotency key table').not.toBeNull();
    const [, senderId, conversationId, clientMsgId, json, hex] = row!;
    expect(JSON.stringify([senderId, conversationId, clientMsgId])).toBe(json);
    expect(key(senderId!, conversationId!, clientMsgId!)).toBe(hex);
    expect(sha256(json!)).toBe(hex);
  });

  it('follows each documented rule: no whitespace, short escapes, lowercase \\u00xx, the rest as is, lone surrogates escaped', () => {
    // Written by hand from the README's rules, not by JSON.stringify.
    const cases: [string, string, string, string][] = [
      ['alice', 'c1', 'k1', '["alice","c1","k1"]'],
      ['a"b', 'c\\d', 'e/f', String.raw`["a\"b","c\\d","e/f"]`],
      ['\b\t\n\f\r', '\u0000\u001f', 'x', String.raw`["\b\t\n\f\r","\u0000\u001f","x"]`],
      ['zoë', '😀', '\u007f\u2028\u2029', '["zoë","😀","\u007f\u2028\u2029"]'],
      ['\ud800', 'x\udfff', '\udbff\udc00', String.raw`["\ud800","x\udfff","` + '\udbff\udc00"]'],
    ];
    for (const [s, c, m, json] of cases) expect(key(s, c, m), json).toBe(sha256(json));
  });

  it('differs from JSON with spaces or ASCII-only escapes (what a default serialiser gives)', () => {
    const k = key('zoë', 'c1', 'k1');
    expect(k).not.toBe(sha256('["zoë", "c1", "k1"]'));
    expect(k).not.toBe(sha256(String.raw`["zo\u00eb","c1","k1"]`));
  });
});
