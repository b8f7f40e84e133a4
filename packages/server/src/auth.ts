/**
 * `authenticate` for the standalone server: a JWT verified with `jose` (HS256 shared secret or a
 * JWKS URL; issuer, audience, expiry with clock skew), or an HTTP callback to the app.
 */
import type { Profile } from '@parley/protocol';
import {
  type AuthInput,
  type AuthResult,
  ForbiddenError,
  type Logger,
  type RequestInfo,
} from '@parley/server-adapter';
import { createRemoteJWKSet, errors, type JWTPayload, jwtVerify } from 'jose';
import { AppContractError, type Caller } from './callbacks.js';
import type { ClaimStore } from './claims.js';
import type { ServerConfig } from './config.js';

/** The token of a request: `hello.token`, else `Authorization: Bearer`, else the configured cookie. */
export function tokenOf(input: AuthInput, cookie: string | undefined): string | undefined {
  if (input.token !== undefined && input.token !== '') return input.token;
  const h = input.request.headers.authorization;
  const header = Array.isArray(h) ? h[0] : h;
  if (header?.toLowerCase().startsWith('bearer ')) return header.slice(7).trim();
  if (cookie !== undefined) return input.request.cookies[cookie];
  return undefined;
}

/** Failures that mean "this token is not valid" (close 4401), as opposed to "cannot check now". */
const INVALID_TOKEN = [
  errors.JWTExpired,
  errors.JWTClaimValidationFailed,
  errors.JWSSignatureVerificationFailed,
  errors.JWSInvalid,
  errors.JWTInvalid,
  errors.JOSEAlgNotAllowed,
  errors.JWKSNoMatchingKey,
  errors.JOSENotSupported,
  errors.JWKSMultipleMatchingKeys,
];

function profileOf(
  claims: Record<string, unknown>,
  map: Record<string, string>,
): Profile | undefined {
  const profile: Record<string, string> = {};
  for (const [field, claim] of Object.entries(map)) {
    const v = claims[claim];
    if (typeof v === 'string' && v !== '') profile[field] = v;
  }
  return Object.keys(profile).length === 0 ? undefined : (profile as Profile);
}

function stringList(v: unknown): string[] | undefined {
  return Array.isArray(v) && v.every((x) => typeof x === 'string') ? (v as string[]) : undefined;
}

const validUserId = (v: unknown): v is string =>
  typeof v === 'string' && v.length > 0 && v.length <= 128;

type Authenticate = (input: AuthInput) => Promise<AuthResult | null>;

function jwtAuthenticate(config: ServerConfig, claims: ClaimStore, logger: Logger): Authenticate {
  const jwt = config.auth.jwt!;
  const key =
    jwt.secret !== undefined
      ? new TextEncoder().encode(jwt.secret)
      : createRemoteJWKSet(new URL(jwt.jwksUrl!));
  const algorithms =
    jwt.algorithms ??
    (jwt.secret !== undefined
      ? ['HS256']
      : ['RS256', 'RS384', 'RS512', 'PS256', 'ES256', 'ES384', 'EdDSA']);
  return async (input) => {
    const token = tokenOf(input, config.auth.cookie);
    if (token === undefined) return null;
    let payload: JWTPayload;
    try {
      ({ payload } = await jwtVerify(token, key as Parameters<typeof jwtVerify>[1], {
        algorithms,
        clockTolerance: jwt.clockToleranceSec,
        ...(jwt.issuer === undefined ? {} : { issuer: jwt.issuer }),
        ...(jwt.audience === undefined ? {} : { audience: jwt.audience }),
        requiredClaims: ['exp'],
      }));
    } catch (err) {
      if (INVALID_TOKEN.some((E) => err instanceof E)) {
        logger.info(
          { reason: (err as { code?: string }).code, detail: (err as Error).message },
          'token refused',
        );
        return null;
      }
      throw err; // JWKS unreachable and the like: close 1011, the client backs off.
    }
    const userId = payload[jwt.userIdClaim];
    if (!validUserId(userId)) {
      logger.info({ claim: jwt.userIdClaim }, 'token refused: no usable user id claim');
      return null;
    }
    const convs = stringList(payload[config.membership.claim]);
    if (convs !== undefined) await claims.set(userId, convs);
    const profile = profileOf(payload, jwt.profileClaims);
    return {
      userId,
      ...(profile === undefined ? {} : { profile }),
      // A token accepted within the clock skew stays valid for that skew on this clock too.
      ...(payload.exp === undefined
        ? {}
        : { expiresAt: (payload.exp + jwt.clockToleranceSec) * 1000 }),
    };
  };
}

function pick(
  source: Record<string, string | string[] | undefined>,
  names: readonly string[],
): Record<string, string> {
  const out: Record<string, string> = {};
  for (const n of names) {
    const v = source[n.toLowerCase()] ?? source[n];
    if (v !== undefined) out[n] = Array.isArray(v) ? v.join(', ') : v;
  }
  return out;
}

function callbackAuthenticate(
  config: ServerConfig,
  claims: ClaimStore,
  caller: Caller,
): Authenticate {
  const cb = config.auth.callback!;
  return async (input) => {
    const request: RequestInfo = input.request;
    const token = tokenOf(input, config.auth.cookie);
    const res = await caller.call(
      'auth',
      cb.url,
      {
        token: token ?? null,
        reason: input.reason,
        headers: pick(request.headers, cb.headers),
        cookies: pick(request.cookies, cb.cookies),
      },
      { retry: true },
    );
    if (res.status === 401) return null;
    if (res.status === 403) {
      const reason = (res.body as { reason?: unknown } | undefined)?.reason;
      throw new ForbiddenError(typeof reason === 'string' ? reason.slice(0, 100) : 'forbidden');
    }
    if (res.status < 200 || res.status >= 300)
      throw new AppContractError(
        'auth',
        `unexpected HTTP ${res.status} (expected 200, 401 or 403)`,
      );
    const body = (res.body ?? {}) as Record<string, unknown>;
    if (!validUserId(body.userId))
      throw new AppContractError('auth', 'answer has no userId (a string of 1-128 characters)');
    const convs = stringList(body.conversations);
    if (convs !== undefined) await claims.set(body.userId, convs);
    const profile = body.profile as Profile | undefined;
    const expiresAt = typeof body.expiresAt === 'number' ? body.expiresAt : undefined;
    return {
      userId: body.userId,
      ...(profile && typeof profile === 'object' ? { profile } : {}),
      ...(expiresAt === undefined ? {} : { expiresAt }),
    };
  };
}

/** Builds the hub's `authenticate` from the configuration. */
export function createAuthenticate(
  config: ServerConfig,
  claims: ClaimStore,
  caller: Caller,
  logger: Logger,
): Authenticate {
  return config.auth.mode === 'jwt'
    ? jwtAuthenticate(config, claims, logger)
    : callbackAuthenticate(config, claims, caller);
}
