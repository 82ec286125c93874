// One place that decides how Tabby logs: pino JSON to stdout, level from the caller (the CLI reads --log-level or
// TABBY_LOG_LEVEL). Components take a Logger as a dependency and make children with their own fields
// (controller, kind, name, node, revision) instead of reaching for a global.
import { pino, type Logger, type LevelWithSilent, type DestinationStream } from 'pino';

export type { Logger };

export interface LoggerOptions {
  level?: LevelWithSilent;
  /** The component name written on every line, e.g. `operator` or `agent`. */
  component: string;
  /** Where lines go; stdout when absent. Tests pass a stream to read them back. */
  destination?: DestinationStream;
}

export function createLogger(options: LoggerOptions): Logger {
  return pino(
    {
      level: options.level ?? 'info',
      base: { component: options.component },
      timestamp: pino.stdTimeFunctions.isoTime,
      formatters: { level: (label) => ({ level: label }) },
    },
    options.destination ?? pino.destination({ fd: 1, sync: false }),
  );
}

/** A logger that drops everything: for unit tests of code that requires one. */
export function silentLogger(): Logger {
  return pino({ level: 'silent' });
}
