#!/usr/bin/env node
/**
 * `parley-conformance <ws-url> --conversation <id> (--token-a T --token-b T | --token-cmd CMD)`
 * Prints one line per guarantee and exits 0 when the server conforms, 1 when it does not, 2 on
 * a usage error.
 */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { Redactor } from './redact.js';
import { CHECKS, formatReport, runConformance, type TokenSource } from './suite.js';

/** Credentials given on the command line, kept out of a crash message too. */
const secrets = new Redactor();

const HELP = `parley-conformance — check a server against the Parley protocol

Usage:
  parley-conformance <ws-url> --conversation <id> --token-a <jwt> --token-b <jwt>
  parley-conformance <ws-url> --conversation <id> --token-cmd "./issue-token {user}"

Options:
  --conversation ID          a conversation both test users belong to (required)
  --foreign-conversation ID  a conversation user a is NOT in (default: a random id)
  --event NAME               a custom event name the server accepts from clients
                             (default: conformance.ping)
  --event-payload JSON       its payload (default: {})
  --token-a / --token-b T    tokens of two different members
  --token-cmd CMD            shell command printing a token; {user} is replaced by a or b
                             (also in env PARLEY_TEST_USER). Run once per connection.
  --header "Name: value"     extra upgrade header (repeatable)
  --timeout MS               per-step timeout (default 3000)
  --only ID[,ID]             run only these checks (and what they need)
  --json                     print the report as JSON

Checks: ${CHECKS.map((c) => c[0]).join(', ')}
Exit code: 0 conforms, 1 does not, 2 usage error.
Tokens, header values and credential-like fields a server echoes are printed as [redacted].
`;

const run = promisify(execFile);

function tokenFromCommand(cmd: string, user: 'a' | 'b'): TokenSource {
  return async () => {
    const { stdout } = await run('/bin/sh', ['-c', cmd.replaceAll('{user}', user)], {
      env: { ...process.env, PARLEY_TEST_USER: user },
      timeout: 10_000,
    });
    return stdout.trim();
  };
}

async function main(argv: string[]): Promise<number> {
  const flags: Record<string, string[]> = {};
  const positional: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (arg === '--help' || arg === '-h') {
      process.stdout.write(HELP);
      return 0;
    }
    if (arg === '--json') {
      flags.json = ['1'];
      continue;
    }
    if (arg.startsWith('--')) {
      const eq = arg.indexOf('=');
      const name = eq === -1 ? arg.slice(2) : arg.slice(2, eq);
      const value = eq === -1 ? argv[++i] : arg.slice(eq + 1);
      if (value === undefined) return usage(`--${name} needs a value`);
      flags[name] = [...(flags[name] ?? []), value];
    } else positional.push(arg);
  }
  const url = positional[0];
  const conversationId = flags.conversation?.[0];
  if (url === undefined || !/^wss?:\/\//.test(url))
    return usage('give the server URL (ws:// or wss://)');
  if (conversationId === undefined) return usage('--conversation is required');
  const cmd = flags['token-cmd']?.[0];
  const ta = flags['token-a']?.[0];
  const tb = flags['token-b']?.[0];
  secrets.add(ta);
  secrets.add(tb);
  let tokens: { a: TokenSource; b: TokenSource };
  if (cmd !== undefined) tokens = { a: tokenFromCommand(cmd, 'a'), b: tokenFromCommand(cmd, 'b') };
  else if (ta !== undefined && tb !== undefined) tokens = { a: ta, b: tb };
  else return usage('give --token-a and --token-b, or --token-cmd');
  const headers: Record<string, string> = {};
  for (const h of flags.header ?? []) {
    const at = h.indexOf(':');
    if (at < 1) return usage(`bad --header ${JSON.stringify(h)}`);
    headers[h.slice(0, at).trim()] = h.slice(at + 1).trim();
    secrets.addHeader(h.slice(0, at).trim(), h.slice(at + 1).trim());
  }
  const timeout = flags.timeout?.[0];
  const eventName = flags.event?.[0];
  let eventPayload: unknown = {};
  const rawPayload = flags['event-payload']?.[0];
  if (rawPayload !== undefined) {
    try {
      eventPayload = JSON.parse(rawPayload);
    } catch {
      return usage('--event-payload must be JSON');
    }
  }
  const report = await runConformance({
    url,
    tokens,
    conversationId,
    ...(flags['foreign-conversation']
      ? { foreignConversationId: flags['foreign-conversation'][0]! }
      : {}),
    ...(timeout === undefined ? {} : { timeoutMs: Number(timeout) }),
    ...(eventName === undefined && rawPayload === undefined
      ? {}
      : { event: { name: eventName ?? 'conformance.ping', payload: eventPayload } }),
    ...(Object.keys(headers).length ? { headers } : {}),
    ...(flags.only ? { only: flags.only.flatMap((o) => o.split(',')) } : {}),
  });
  process.stdout.write(
    flags.json ? `${JSON.stringify(report, null, 2)}\n` : `${formatReport(report)}\n`,
  );
  return report.passed ? 0 : 1;
}

function usage(message: string): number {
  process.stderr.write(`parley-conformance: ${message}\n\n${HELP}`);
  return 2;
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (err: unknown) => {
    process.stderr.write(
      `parley-conformance: ${secrets.text((err as Error).stack ?? String(err))}\n`,
    );
    process.exit(2);
  },
);
