/**
 * Every error the HTTP API answers is in the README's table, with the documented status, and its
 * message reveals nothing internal (issue 19, item 8: `invalid_query`, `method_not_allowed` and
 * `not_found` were undocumented; messages carried a `hub.publish:` prefix).
 */
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createJsonLogger, type ParleyServer, parseConfig, startServer } from '../src/index.js';
import { API_KEY, SECRET } from './helpers.js';

const readme = readFileSync(new URL('../README.md', import.meta.url), 'utf8');
/** `code` -> status, from the README's table of API errors. */
const documented = new Map(
  [...readme.matchAll(/^\| (\d{3}) \| `([a-z_]+)` \| .+ \|$/gm)].map((m) => [m[2]!, Number(m[1])]),
);

const servers: ParleyServer[] = [];
async function start(extra: Record<string, unknown>): Promise<string> {
  const server = await startServer(
    parseConfig({ host: '127.0.0.1', port: 0, auth: { jwt: { secret: SECRET } }, ...extra }),
    { logger: createJsonLogger({ level: 'silent' }) },
  );
  servers.push(server);
  return `http://127.0.0.1:${server.apiPort}`;
}
afterAll(async () => {
  for (const s of servers) await s.close();
});

let base = '';
beforeAll(async () => {
  base = await start({ api: { key: API_KEY, unknownConversations: 'reject' } });
});

/** What an API request answered. */
async function call(
  method: string,
  path: string,
  o: { body?: string; key?: string | null; at?: string } = {},
): Promise<{ status: number; code: string; message: string }> {
  const res = await fetch(`${o.at ?? base}${path}`, {
    method,
    headers: {
      ...(o.key === null ? {} : { authorization: `Bearer ${o.key ?? API_KEY}` }),
      'content-type': 'application/json',
    },
    ...(o.body === undefined ? {} : { body: o.body }),
  });
  const body = (await res.json()) as { error: { code: string; message: string } };
  return { status: res.status, ...body.error };
}

const json = (v: unknown) => ({ body: JSON.stringify(v) });

describe('HTTP API errors', () => {
  it('the README documents every code api.ts can answer, and nothing else', () => {
    const source = readFileSync(new URL('../src/api.ts', import.meta.url), 'utf8');
    const inSource = new Set(
      [...source.matchAll(/code: '([a-z_]+)'|new ApiError\(\d{3}, '([a-z_]+)'/g)].map(
        (m) => m[1] ?? m[2]!,
      ),
    );
    expect(inSource.size).toBeGreaterThan(8);
    expect([...documented.keys()].sort()).toEqual([...inSource].sort());
  });

  it('answers each documented code with its documented status, and a message without internals', async () => {
    const seen: { status: number; code: string; message: string }[] = [];
    const expectCode = async (
      code: string,
      answer: Promise<{ status: number; code: string; message: string }>,
    ) => {
      const r = await answer;
      expect(r.code, r.message).toBe(code);
      expect(r.status, code).toBe(documented.get(code));
      seen.push(r);
      return r;
    };
    await expectCode('unauthorized', call('GET', '/v1/stats', { key: 'wrong' }));
    await expectCode('unauthorized', call('GET', '/v1/stats', { key: null }));
    await expectCode('not_found', call('GET', '/v1/nothing'));
    await expectCode('not_found', call('GET', '/elsewhere'));
    await expectCode('method_not_allowed', call('DELETE', '/v1/conversations/c1/messages'));
    await expectCode('invalid_path', call('GET', '/v1/conversations/%E0%A4%A/messages'));
    await expectCode('invalid_json', call('POST', '/v1/conversations/c1/messages', { body: '{' }));
    await expectCode(
      'invalid_body',
      call('POST', '/v1/conversations/c1/messages', json({ text: 42 })),
    );
    await expectCode('invalid_body', call('POST', '/v1/conversations/c1/join', json({})));
    await expectCode('invalid_query', call('GET', '/v1/conversations/c1/messages?limit=0'));
    await expectCode('invalid_query', call('GET', '/v1/conversations/c1/messages?before=x'));
    await expectCode('invalid_query', call('GET', '/v1/presence'));
    await expectCode(
      'too_large',
      call('POST', '/v1/conversations/c1/messages', json({ text: 'x'.repeat(1_100_000) })),
    );
    // `reject`: a conversation with no members does not exist.
    await expectCode(
      'not_found',
      call('POST', '/v1/conversations/c1/messages', json({ text: 'x' })),
    );
    expect(
      (
        await fetch(`${base}/v1/conversations/c1/join`, {
          method: 'POST',
          headers: { authorization: `Bearer ${API_KEY}`, 'content-type': 'application/json' },
          body: JSON.stringify({ userIds: ['alice'] }),
        })
      ).status,
    ).toBe(200);
    const long = await expectCode(
      'invalid',
      call('POST', '/v1/conversations/c1/messages', json({ text: '😀'.repeat(10_001) })),
    );
    // The hub's wording, without the name of the function that refused it.
    expect(long.message).toBe('text is longer than 10000 code points');
    await expectCode(
      'invalid',
      call('POST', '/v1/conversations/c1/events', json({ name: 'bad name!', payload: {} })),
    );
    await expectCode('invalid', call('GET', `/v1/conversations/${'c'.repeat(129)}/messages`));

    const noKey = await start({});
    await expectCode('api_disabled', call('GET', '/v1/stats', { at: noKey }));
    // A hub that is shutting down while the HTTP side still answers.
    const closing = await start({ api: { key: API_KEY } });
    await servers.at(-1)!.hub.close();
    await expectCode(
      'unavailable',
      call('POST', '/v1/conversations/c1/messages', { ...json({ text: 'late' }), at: closing }),
    );

    for (const r of seen) {
      expect(r.message, r.code).not.toMatch(/hub\.|Error\b|\bat \S+:\d+|node_modules|\.ts\b/);
      expect(r.message.length, r.code).toBeGreaterThan(0);
    }
    // Every documented code but `internal` (an unexpected failure) was produced above.
    expect(new Set(seen.map((r) => r.code))).toEqual(
      new Set([...documented.keys()].filter((c) => c !== 'internal')),
    );
  });
});
