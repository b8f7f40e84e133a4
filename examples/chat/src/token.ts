/**
 * Demo session tokens: `v1.<payload>.<signature>`, the payload being base64url JSON
 * `{ sub, exp }` and the signature an HMAC-SHA256 of it with a per-process random secret.
 * A real app would use its own session store or JWTs; the point is that the hub never trusts a
 * plain user id sent by the browser.
 */
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';

export interface TokenClaims {
  /** User id. */
  sub: string;
  /** Expiry, ms since the epoch. */
  exp: number;
}

/** A fresh random secret (32 bytes, base64url). */
export function randomSecret(): string {
  return randomBytes(32).toString('base64url');
}

function mac(secret: string, payload: string): Buffer {
  return createHmac('sha256', secret).update(`v1.${payload}`).digest();
}

export function signToken(secret: string, claims: TokenClaims): string {
  const payload = Buffer.from(JSON.stringify(claims)).toString('base64url');
  return `v1.${payload}.${mac(secret, payload).toString('base64url')}`;
}

/** The claims of a well-signed, unexpired token; `undefined` for anything else. */
export function verifyToken(
  secret: string,
  token: string | undefined,
  now = Date.now(),
): TokenClaims | undefined {
  if (typeof token !== 'string' || token.length > 1024) return undefined;
  const [version, payload, signature, extra] = token.split('.');
  if (version !== 'v1' || !payload || !signature || extra !== undefined) return undefined;
  const expected = mac(secret, payload);
  const given = Buffer.from(signature, 'base64url');
  if (given.length !== expected.length || !timingSafeEqual(given, expected)) return undefined;
  try {
    const claims = JSON.parse(Buffer.from(payload, 'base64url').toString('utf8')) as TokenClaims;
    if (typeof claims.sub !== 'string' || typeof claims.exp !== 'number') return undefined;
    return claims.exp > now ? claims : undefined;
  } catch {
    return undefined;
  }
}
