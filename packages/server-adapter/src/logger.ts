/**
 * A pino-compatible logger: `logger.warn({ err, userId }, 'message')`. Pass `pino()` itself, or a
 * child logger; the hub never calls `console.*`.
 */
export interface Logger {
  debug(obj: object, msg?: string): void;
  info(obj: object, msg?: string): void;
  warn(obj: object, msg?: string): void;
  error(obj: object, msg?: string): void;
}

const noop = (): void => {};

/** The default logger: discards everything. */
export const silentLogger: Logger = { debug: noop, info: noop, warn: noop, error: noop };
