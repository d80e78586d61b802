/**
 * What `trellis serve` logs about what it serves: pino with ISO 8601 timestamps; grpc-js's own
 * messages through the same logger (not on stderr); each problem once when it appears and once
 * when it is fixed; and one line per reload saying what is served.
 */
import { format } from 'node:util';
import * as grpc from '@grpc/grpc-js';
import { pino, type DestinationStream, type Level, type Logger } from 'pino';
import { describeDiagnostic, diagnosticKey, formatRef, type Diagnostic } from '../diagnostics.js';
import type { MeshModel } from '../model/types.js';

/** The process's logger: JSON lines on stdout (or `destination`), timestamps in ISO 8601. */
export function createLogger(level: Level, destination?: DestinationStream): Logger {
  const options = { level, base: { app: 'trellis' }, timestamp: pino.stdTimeFunctions.isoTime };
  return destination ? pino(options, destination) : pino(options);
}

/** grpc-js writes its errors to stderr by default (`E No address added …`); they go to the log instead. */
export function routeGrpcLogs(logger: Logger): void {
  grpc.setLogger({
    error: (message?: unknown, ...rest: unknown[]) => logger.error(format(message, ...rest)),
    info: (message?: unknown, ...rest: unknown[]) => logger.info(format(message, ...rest)),
    debug: (message?: unknown, ...rest: unknown[]) => logger.debug(format(message, ...rest)),
  });
}

/** The fields a log line about a diagnostic carries besides its message. */
function logFields(d: Diagnostic): Record<string, unknown> {
  return {
    ...(d.object ? { object: formatRef(d.object) } : {}),
    ...(d.field ? { field: d.field } : {}),
    ...(d.origin?.file !== undefined ? { file: d.origin.file } : {}),
    ...(d.origin?.document !== undefined ? { document: d.origin.document } : {}),
    ...(d.origin?.line !== undefined ? { line: d.origin.line, column: d.origin.column } : {}),
  };
}

/**
 * Logs the problems of each reload against the reload before: a new one at its severity, one that
 * went away once at info as `fixed: …`; an unchanged one is not logged again.
 */
export class ProblemLog {
  private logged = new Map<string, Diagnostic>();

  constructor(private readonly logger: Logger) {}

  /** The problems now; returns how many are errors and warnings. */
  update(problems: readonly Diagnostic[]): { errors: number; warnings: number } {
    const now = new Map(problems.map((p) => [diagnosticKey(p), p]));
    for (const [key, p] of this.logged) if (!now.has(key)) this.logger.info(logFields(p), `fixed: ${describeDiagnostic(p)}`);
    for (const [key, p] of now) {
      if (this.logged.has(key)) continue;
      this.logger[p.severity === 'error' ? 'error' : 'warn'](logFields(p), describeDiagnostic(p));
    }
    this.logged = now;
    const errors = [...now.values()].filter((p) => p.severity === 'error').length;
    return { errors, warnings: now.size - errors };
  }
}

function count(n: number, one: string, many = `${one}s`): string {
  return `${n} ${n === 1 ? one : many}`;
}

/** What a model serves, and how many problems there are. */
export interface Served {
  readonly services: number;
  readonly endpoints: number;
  readonly policies: number;
  readonly errors: number;
  readonly warnings: number;
}

export function served(model: MeshModel, problems: { errors: number; warnings: number }): Served {
  const endpoints = model.services.reduce((sum, s) => sum + s.ports.reduce((n, p) => n + p.endpoints.length, 0), 0);
  return { services: model.services.length, endpoints, policies: model.policies.length, ...problems };
}

/** `serving 12 services, 40 endpoints, 3 policies; 1 error, 2 warnings`. */
export function servingSummary(s: Served): string {
  const what = [count(s.services, 'service'), count(s.endpoints, 'endpoint'), count(s.policies, 'policy', 'policies')];
  return `serving ${what.join(', ')}; ${count(s.errors, 'error')}, ${count(s.warnings, 'warning')}`;
}
