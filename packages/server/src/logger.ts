/**
 * A tiny pino-compatible JSON line logger: one JSON object per line, `level` as pino's numbers,
 * `time` in ms, `msg`, and the fields of the object passed first. Errors are serialised with
 * their name, message, code and stack.
 */
import type { Logger } from '@parley/server-adapter';

/** Log levels, most verbose first; pino's numeric values. */
export const LEVELS = { debug: 20, info: 30, warn: 40, error: 50, silent: 100 } as const;
export type LogLevel = keyof typeof LEVELS;

/** Where log lines go: anything with `write(string)` (a stream, or an array collector in tests). */
export interface LogSink {
  write(line: string): unknown;
}

/** A {@link Logger} that can derive children with bound fields (like pino's `child`). */
export interface JsonLogger extends Logger {
  child(bindings: Record<string, unknown>): JsonLogger;
}

function serialise(value: unknown, depth = 0): unknown {
  if (value instanceof Error) {
    const out: Record<string, unknown> = { type: value.name, message: value.message };
    const code = (value as { code?: unknown }).code;
    if (code !== undefined) out.code = code;
    if (value.stack !== undefined) out.stack = value.stack;
    if (value.cause !== undefined && depth < 3) out.cause = serialise(value.cause, depth + 1);
    return out;
  }
  return value;
}

/**
 * Creates a JSON line logger writing to `sink` (default `process.stdout`), dropping entries below
 * `level`.
 */
export function createJsonLogger(
  options: { level?: LogLevel; sink?: LogSink; bindings?: Record<string, unknown> } = {},
): JsonLogger {
  const min = LEVELS[options.level ?? 'info'];
  const sink = options.sink ?? process.stdout;
  const bindings = options.bindings ?? {};
  const log =
    (level: Exclude<LogLevel, 'silent'>) =>
    (obj: object, msg?: string): void => {
      if (LEVELS[level] < min) return;
      const entry: Record<string, unknown> = {
        level: LEVELS[level],
        time: Date.now(),
        ...bindings,
      };
      for (const [k, v] of Object.entries(obj)) entry[k] = serialise(v);
      if (msg !== undefined) entry.msg = msg;
      let line: string;
      try {
        line = JSON.stringify(entry);
      } catch {
        line = JSON.stringify({
          level: LEVELS[level],
          time: entry.time,
          msg,
          unserialisable: true,
        });
      }
      sink.write(`${line}\n`);
    };
  return {
    debug: log('debug'),
    info: log('info'),
    warn: log('warn'),
    error: log('error'),
    child: (more) => createJsonLogger({ ...options, bindings: { ...bindings, ...more } }),
  };
}
