/**
 * What `trellis serve` logs with: pino with ISO 8601 timestamps; grpc-js's own messages through
 * the same logger (not on stderr).
 */
import { format } from 'node:util';
import * as grpc from '@grpc/grpc-js';
import { pino, type DestinationStream, type Level, type Logger } from 'pino';

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
