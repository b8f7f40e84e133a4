/**
 * Credentials never reach a report (issue 19: the CLI echoed a broken server's frames, which
 * printed a token). A report quotes what a server sent when a check fails, and a broken server may
 * echo the `hello` — token included — or send credentials of its own. Three layers:
 * - the values the suite itself sent as credentials (tokens, header values), wherever they appear;
 * - values under credential-like keys (`token`, `apiKey`, `authorization`, `cookie`, …) of a frame;
 * - anything shaped like a JWT (`eyJ….….`), and credential-like query parameters of a URL.
 */

/** What replaces a credential. */
export const REDACTED = '[redacted]';

const SECRET_KEY =
  /^(token|access_?token|refresh_?token|id_?token|api_?key|x-api-key|key|authorization|password|passwd|secret|client_?secret|cookie|set-cookie|session|jwt|credentials?)$/i;
/** A JWT (compact JWS/JWE): base64url header starting with `{"`, then at least one more part. */
const JWT = /eyJ[A-Za-z0-9_-]*\.[A-Za-z0-9_-]+(?:\.[A-Za-z0-9_-]*)*/g;
/** Known secrets shorter than this are only redacted by key (a 1-character "token" is no secret). */
const MIN_SECRET_LENGTH = 4;

export class Redactor {
  private readonly secrets = new Set<string>();

  /** Remembers a credential the suite sends (a token, a header value). */
  add(secret: string | undefined): void {
    const s = secret?.trim();
    if (s !== undefined && s.length >= MIN_SECRET_LENGTH) this.secrets.add(s);
  }

  /** Remembers an upgrade header's value, and its parts that are credentials on their own. */
  addHeader(name: string, value: string): void {
    this.add(value);
    const lower = name.toLowerCase();
    if (lower === 'authorization') this.add(value.replace(/^\s*\w+\s+/, ''));
    if (lower === 'cookie') {
      for (const pair of value.split(';')) this.add(pair.slice(pair.indexOf('=') + 1));
    }
  }

  /** A copy of `value` with every credential-like key's value replaced. */
  value(value: unknown, depth = 0): unknown {
    if (depth > 64 || value === null || typeof value !== 'object') return value;
    if (Array.isArray(value)) return value.map((v) => this.value(v, depth + 1));
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) {
      out[k] =
        SECRET_KEY.test(k) && v !== null && v !== undefined ? REDACTED : this.value(v, depth + 1);
    }
    return out;
  }

  /** `text` with every known secret and every JWT-shaped string replaced. */
  text(text: string): string {
    let out = text;
    // Longest first, so that a secret containing another is replaced whole.
    for (const s of [...this.secrets].sort((x, y) => y.length - x.length)) {
      out = out.split(s).join(REDACTED);
      // The same secret as JSON writes it inside a string (quotes and backslashes escaped).
      const escaped = JSON.stringify(s).slice(1, -1);
      if (escaped !== s) out = out.split(escaped).join(REDACTED);
    }
    return out.replace(JWT, REDACTED);
  }

  /** A URL with credential-like query parameters and user info removed. */
  url(raw: string): string {
    let u: URL;
    try {
      u = new URL(raw);
    } catch {
      return this.text(raw);
    }
    if (u.username !== '' || u.password !== '') {
      u.username = REDACTED;
      u.password = '';
    }
    for (const k of [...u.searchParams.keys()]) {
      if (SECRET_KEY.test(k)) u.searchParams.set(k, REDACTED);
    }
    return this.text(u.toString());
  }

  /** A short, redacted rendering of a value for a report line (at most 300 characters). */
  short(value: unknown): string {
    const s = value === undefined ? 'undefined' : this.text(JSON.stringify(this.value(value)));
    return s.length > 300 ? `${s.slice(0, 300)}…` : s;
  }
}
