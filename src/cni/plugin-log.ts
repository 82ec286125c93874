// The plugin's log: one JSON line per event in pino's shape ({level, time, component, msg, ...fields}) appended to
// `log_file_path` when the config names one, and errors also to stderr, which runtimes keep for failed plugins.
// Not pino itself: the plugin is a process per pod operation, and loading pino would cost every ADD its start-up
// time for a handful of lines (bench/cni.bench.ts measures start-up as part of ADD latency).
import { appendFileSync, mkdirSync } from 'node:fs';
import { dirname } from 'node:path';

export type PluginLogLevel = 'debug' | 'info' | 'warn' | 'error';

const RANK: Record<PluginLogLevel | 'none', number> = { debug: 10, info: 20, warn: 30, error: 40, none: 99 };

export interface PluginLog {
  debug(msg: string, fields?: Record<string, unknown>): void;
  info(msg: string, fields?: Record<string, unknown>): void;
  warn(msg: string, fields?: Record<string, unknown>): void;
  error(msg: string, fields?: Record<string, unknown>): void;
  /** Fields added to every later line (command, containerID, pod, ...). */
  bind(fields: Record<string, unknown>): void;
  /** Reconfigures from the network config once it is parsed. */
  configure(level: string, filePath: string | undefined): void;
}

/** Calico's level names (logrus: warning, fatal, panic) mapped onto ours. */
function normalise(level: string): PluginLogLevel | 'none' {
  switch (level.toLowerCase()) {
    case 'debug':
      return 'debug';
    case 'warn':
    case 'warning':
      return 'warn';
    case 'error':
    case 'fatal':
    case 'panic':
      return 'error';
    case 'none':
      return 'none';
    default:
      return 'info';
  }
}

/**
 * `traceToStderr` (TABBY_CNI_TRACE=1 in the plugin's environment) copies info lines to stderr too, so a benchmark
 * or a person running the plugin by hand sees the timings without a log file.
 */
export function createPluginLog(
  stderr: (line: string) => void = (l) => process.stderr.write(l),
  traceToStderr = process.env.TABBY_CNI_TRACE === '1',
): PluginLog {
  let min: PluginLogLevel | 'none' = 'info';
  let file: string | undefined;
  let bound: Record<string, unknown> = {};
  const emit = (level: PluginLogLevel, msg: string, fields: Record<string, unknown> = {}) => {
    const line = `${JSON.stringify({ level, time: new Date().toISOString(), component: 'cni', ...bound, ...fields, msg })}\n`;
    if (level === 'error' || (traceToStderr && level === 'info')) stderr(line);
    if (file === undefined || RANK[level] < RANK[min]) return;
    try {
      appendFileSync(file, line);
    } catch {
      // A log file that cannot be written must not fail the pod operation.
    }
  };
  return {
    debug: (m, f) => emit('debug', m, f),
    info: (m, f) => emit('info', m, f),
    warn: (m, f) => emit('warn', m, f),
    error: (m, f) => emit('error', m, f),
    bind(fields) {
      bound = { ...bound, ...fields };
    },
    configure(level, filePath) {
      min = normalise(level);
      file = filePath;
      if (file !== undefined) {
        try {
          mkdirSync(dirname(file), { recursive: true });
        } catch {
          // reported by nothing: logging must not fail the pod operation
        }
      }
    },
  };
}

/** A log that drops everything (unit tests). */
export function silentPluginLog(): PluginLog {
  const noop = () => undefined;
  return { debug: noop, info: noop, warn: noop, error: noop, bind: noop, configure: noop };
}
