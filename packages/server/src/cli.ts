#!/usr/bin/env node
/**
 * `parley-server start --config parley.config.json [flags]` — the CLI. Everything it prints is a
 * JSON log line on stdout (the `listening` line carries the bound ports), except `--help` and
 * `config`, which print for humans.
 */
import {
  ConfigError,
  ENV_VARS,
  FLAGS,
  loadConfig,
  parseArgs,
  type ServerConfig,
} from './config.js';
import { createJsonLogger } from './logger.js';
import { startServer } from './server.js';

const HELP = `parley-server — the Parley hub as a standalone service

Usage:
  parley-server start  [--config parley.config.json] [flags]
  parley-server config [--config parley.config.json] [flags]   print the resolved config (secrets masked)

Precedence (lowest first): defaults < config file (--config or PARLEY_CONFIG) < environment < flags.

Flags:
${Object.entries(FLAGS)
  .map(([f, p]) => `  --${f.padEnd(20)} ${p}`)
  .join('\n')}
  --set path=value       any config field, e.g. --set membership.cacheTtlMs=1000 (value parsed as JSON if it can be)

Environment:
${Object.entries(ENV_VARS)
  .map(([e, p]) => `  ${e.padEnd(26)} ${p}`)
  .join('\n')}

Signals: SIGTERM/SIGINT drain gracefully (clients are told to reconnect, close 1012); a second signal exits at once.
`;

const SECRET = /secret|key/i;
function masked(value: unknown, key = ''): unknown {
  if (typeof value === 'string' && SECRET.test(key)) return '***';
  if (Array.isArray(value)) return SECRET.test(key) ? value.map(() => '***') : value;
  if (typeof value === 'object' && value !== null)
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, masked(v, k)]));
  return value;
}

async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  if (command === undefined || command === '--help' || command === '-h' || command === 'help') {
    process.stdout.write(HELP);
    return command === undefined ? 1 : 0;
  }
  if (command !== 'start' && command !== 'config') {
    process.stderr.write(`unknown command ${JSON.stringify(command)}\n\n${HELP}`);
    return 1;
  }
  let config: ServerConfig;
  try {
    const args = parseArgs(rest);
    if (args.help) {
      process.stdout.write(HELP);
      return 0;
    }
    config = loadConfig(args);
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    process.stderr.write(`parley-server: ${err.message}\n`);
    return 2;
  }
  if (command === 'config') {
    process.stdout.write(`${JSON.stringify(masked(config), null, 2)}\n`);
    return 0;
  }
  const logger = createJsonLogger({ level: config.logLevel, bindings: { name: 'parley-server' } });
  process.on('uncaughtException', (err) => {
    logger.error({ err }, 'uncaught exception');
    process.exit(1);
  });
  process.on('unhandledRejection', (err) => logger.error({ err }, 'unhandled rejection'));
  let server: Awaited<ReturnType<typeof startServer>>;
  try {
    server = await startServer(config, { logger });
  } catch (err) {
    logger.error({ err }, 'failed to start');
    return 1;
  }
  return new Promise<number>((resolve) => {
    let signalled = false;
    const onSignal = (signal: NodeJS.Signals) => {
      if (signalled) {
        logger.warn({ signal }, 'second signal: exiting now');
        resolve(1);
        return;
      }
      signalled = true;
      logger.info({ signal }, 'shutting down');
      server.close().then(
        () => resolve(0),
        (err: unknown) => {
          logger.error({ err }, 'shutdown failed');
          resolve(1);
        },
      );
    };
    process.on('SIGTERM', onSignal);
    process.on('SIGINT', onSignal);
  });
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (err: unknown) => {
    process.stderr.write(`parley-server: ${(err as Error).stack ?? String(err)}\n`);
    process.exit(1);
  },
);
