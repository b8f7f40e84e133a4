/**
 * JWT auth (HS256) through the CLI: accepted, expired, within clock skew, wrong audience, wrong
 * secret; membership from the `conversations` claim; profile from claims.
 */
import { exportJWK, generateKeyPair, SignJWT } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  type Cli,
  client,
  closeClients,
  jwtAuth,
  killAll,
  opened,
  rawHello,
  startApp,
  startCli,
  token,
} from './helpers.js';

let cli: Cli;
beforeAll(async () => {
  cli = await startCli({ auth: { ...jwtAuth, jwt: { ...jwtAuth.jwt, clockToleranceSec: 30 } } });
});
afterAll(async () => {
  closeClients();
  await killAll();
});

describe('JWT auth', () => {
  it('accepts a valid token: user from sub, profile from claims, conversations from the claim', async () => {
    const r = await rawHello(cli.url, await token('alice', { conversations: ['c1', 'c2'] }));
    expect(r.frame).toMatchObject({ type: 'welcome', user: { id: 'alice', name: 'ALICE' } });
    const ids = (r.frame!.conversations as { id: string }[]).map((c) => c.id).sort();
    expect(ids).toEqual(['c1', 'c2']);
    expect(typeof r.frame!.expiresAt).toBe('number');
  });

  it('a real client connects and talks to another member', async () => {
    const a = client(cli.url, () => token('alice', { conversations: ['c1'] }));
    const b = client(cli.url, () => token('bob', { conversations: ['c1'] }));
    await Promise.all([opened(a), opened(b)]);
    const got = new Promise((r) => b.conversation('c1').on('message', r));
    const sent = await a.conversation('c1').send('hi bob', { data: { senderId: 'mallory' } });
    expect(sent).toMatchObject({ senderId: 'alice', sender: { name: 'ALICE' }, seq: 1 });
    expect(await got).toMatchObject({ text: 'hi bob', senderId: 'alice' });
  });

  it('refuses an expired token with 4401', async () => {
    const exp = Math.floor(Date.now() / 1000) - 120;
    expect(await rawHello(cli.url, await token('alice', {}, { exp }))).toEqual({ close: 4401 });
    expect(cli.logs.some((l) => l.msg === 'token refused' && l.reason === 'ERR_JWT_EXPIRED')).toBe(
      true,
    );
  });

  it("welcome.expiresAt is the token's exp plus auth.jwt.clockToleranceSec, to the millisecond (issue 19)", async () => {
    // The server accepts a token until exp + the tolerance (30 s here), so that is when the
    // session ends and what welcome announces — not exp itself.
    const exp = Math.floor(Date.now() / 1000) + 3600;
    const r = await rawHello(cli.url, await token('alice', {}, { exp }));
    expect(r.frame?.expiresAt).toBe((exp + 30) * 1000);
  });

  it('accepts a token expired within the configured clock skew', async () => {
    const exp = Math.floor(Date.now() / 1000) - 5;
    const r = await rawHello(cli.url, await token('alice', {}, { exp }));
    expect(r.frame?.type).toBe('welcome');
  });

  it('refuses a wrong audience, a wrong issuer and a wrong secret with 4401', async () => {
    expect(await rawHello(cli.url, await token('alice', {}, { aud: 'other-service' }))).toEqual({
      close: 4401,
    });
    expect(await rawHello(cli.url, await token('alice', {}, { iss: 'someone-else' }))).toEqual({
      close: 4401,
    });
    const forged = await token('alice', {}, { secret: 'another-secret-another-secret-another' });
    expect(await rawHello(cli.url, forged)).toEqual({ close: 4401 });
    expect(await rawHello(cli.url, 'not-a-jwt')).toEqual({ close: 4401 });
  });

  it('logs as JSON lines', () => {
    expect(cli.logs.length).toBeGreaterThan(0);
    expect(cli.logs.every((l) => typeof l.level === 'number' && typeof l.time === 'number')).toBe(
      true,
    );
  });
});

describe('JWT auth with a JWKS URL', () => {
  it('verifies RS256 tokens against the keys the app publishes', async () => {
    const { publicKey, privateKey } = await generateKeyPair('RS256');
    const jwk = { ...(await exportJWK(publicKey)), kid: 'k1', alg: 'RS256', use: 'sig' };
    const jwks = await startApp({ '/.well-known/jwks.json': () => [200, { keys: [jwk] }] });
    try {
      const server = await startCli({
        auth: {
          mode: 'jwt',
          jwt: { jwksUrl: `${jwks.url}/.well-known/jwks.json`, issuer: 'idp', audience: 'parley' },
        },
      });
      const sign = (aud: string) =>
        new SignJWT({ conversations: ['c1'] })
          .setProtectedHeader({ alg: 'RS256', kid: 'k1' })
          .setSubject('alice')
          .setIssuer('idp')
          .setAudience(aud)
          .setExpirationTime('10m')
          .sign(privateKey);
      const ok = await rawHello(server.url, await sign('parley'));
      expect(ok.frame).toMatchObject({ type: 'welcome', user: { id: 'alice' } });
      expect(await rawHello(server.url, await sign('elsewhere'))).toEqual({ close: 4401 });
      // An HS256 token signed with anything is refused: only asymmetric algorithms with JWKS.
      expect(await rawHello(server.url, await token('alice'))).toEqual({ close: 4401 });
    } finally {
      await jwks.close();
    }
  });
});
