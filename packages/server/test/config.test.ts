/**
 * Configuration: precedence (defaults < file < env < flags), clear errors, the Redis engine
 * reported clearly when it cannot be loaded, and the TTL cache.
 */
import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig, parseArgs } from '../src/config.js';
import { createEngine, EngineUnavailableError } from '../src/engine.js';
import { TtlCache } from '../src/hooks.js';
import { createJsonLogger } from '../src/logger.js';

const SECRET = 'x'.repeat(32);
const file = (obj: unknown) => () => JSON.stringify(obj);

describe('loadConfig', () => {
  it('applies defaults < file < env < flags', () => {
    const config = loadConfig(
      parseArgs(['--config', 'p.json', '--port', '9001', '--set', 'membership.cacheTtlMs=250']),
      { PARLEY_PORT: '9000', PARLEY_HOST: '127.0.0.1', PARLEY_API_KEY: '12345' },
      file({ port: 8000, path: '/ws', auth: { jwt: { secret: SECRET, audience: 'parley' } } }),
    );
    expect(config).toMatchObject({
      port: 9001,
      host: '127.0.0.1',
      path: '/ws',
      api: { key: '12345' }, // a numeric-looking secret stays a string
      auth: {
        mode: 'jwt',
        jwt: { secret: SECRET, audience: 'parley', clockToleranceSec: 5, userIdClaim: 'sub' },
      },
      membership: { mode: 'claim', claim: 'conversations', cacheTtlMs: 250 },
      engine: { type: 'memory' },
      callbacks: { timeoutMs: 3000, retries: 2 },
      shutdown: { retryJitterMs: 5000 },
    });
  });

  it('a Redis URL selects the Redis engine', () => {
    const config = loadConfig(
      parseArgs(['--jwt-secret', SECRET, '--redis-url', 'redis://r:6379']),
      {},
    );
    expect(config.engine).toEqual({ type: 'redis', url: 'redis://r:6379' });
  });

  it('names every invalid field', () => {
    const err = (() => {
      try {
        loadConfig(
          parseArgs(['--config', 'p.json']),
          {},
          file({ auth: { mode: 'callback' }, membership: { mode: 'callback' }, port: 'x' }),
        );
      } catch (e) {
        return e as Error;
      }
    })();
    expect(err).toBeInstanceOf(ConfigError);
    expect(err!.message).toContain('port:');
    expect(err!.message).toContain('auth.callback: auth.mode "callback" needs auth.callback');
    expect(err!.message).toContain('membership.conversationsUrl');
  });

  it('refuses a short HS256 secret, both secret and JWKS, and unknown flags', () => {
    expect(() => loadConfig(parseArgs(['--jwt-secret', 'short']), {})).toThrow(/at least 32/);
    expect(() =>
      loadConfig(parseArgs(['--jwt-secret', SECRET, '--jwks-url', 'https://x/jwks.json']), {}),
    ).toThrow(/exactly one of/);
    expect(() => parseArgs(['--prot', '1'])).toThrow(/unknown flag --prot/);
    expect(() => loadConfig(parseArgs([]), {})).toThrow(/auth: required/);
  });
});

describe('createEngine', () => {
  it('reports a missing Redis engine clearly', async () => {
    const config = loadConfig(parseArgs(['--jwt-secret', SECRET, '--engine', 'redis']), {});
    const logger = createJsonLogger({ level: 'silent' });
    const err = await createEngine(config, logger, () =>
      Promise.reject(new Error('Cannot find module')),
    ).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(EngineUnavailableError);
    expect((err as Error).message).toMatch(
      /engine "redis" needs @parley\/server-adapter\/redis .* Cannot find module/,
    );
  });
});

describe('TtlCache', () => {
  it('shares one load, expires after the TTL, forgets failures', async () => {
    let now = 0;
    const cache = new TtlCache(100, 10, () => now);
    let loads = 0;
    const load = async () => ++loads;
    expect(await Promise.all([cache.get('k', load), cache.get('k', load)])).toEqual([1, 1]);
    now = 150;
    expect(await cache.get('k', load)).toBe(2);
    await expect(cache.get('f', () => Promise.reject(new Error('down')))).rejects.toThrow('down');
    expect(await cache.get('f', load)).toBe(3);
  });
});
