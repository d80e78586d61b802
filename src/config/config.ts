/**
 * The control plane's own settings, as one zod schema. Flags win over environment variables
 * (TRELLIS_*), which win over the defaults.
 */
import { z } from 'zod';

const hostPort = z
  .string()
  .regex(/^(\[[0-9a-fA-F:.]+\]|[A-Za-z0-9.-]+):\d{1,5}$/, 'expected HOST:PORT, e.g. 127.0.0.1:15010')
  .transform((s) => {
    const i = s.lastIndexOf(':');
    const host = s.slice(0, i).replace(/^\[(.*)\]$/, '$1');
    return { host, port: Number(s.slice(i + 1)) };
  })
  .refine((a) => a.port <= 65535, 'port must be at most 65535');

const millis = z.coerce.number().int().min(0).max(600_000);

export const serveConfigSchema = z
  .object({
    resources: z.string().min(1, 'a resources file is required'),
    xdsAddress: hostPort.prefault('127.0.0.1:15010'),
    debugAddress: hostPort.prefault('127.0.0.1:15014'),
    debounceMinMs: millis.default(100),
    debounceMaxMs: millis.default(1000),
    logLevel: z.enum(['trace', 'debug', 'info', 'warn', 'error', 'fatal']).default('info'),
  })
  .refine((c) => c.debounceMinMs <= c.debounceMaxMs, { message: 'debounce min must not exceed max', path: ['debounceMinMs'] });

export type ServeConfig = z.output<typeof serveConfigSchema>;

/** Flag name ↔ config key ↔ environment variable, declared once. */
export const SERVE_FLAGS = {
  resources: { flag: 'resources', env: 'TRELLIS_RESOURCES', help: 'YAML file of Envoy resources to serve to every proxy (watched)' },
  xdsAddress: { flag: 'xds-address', env: 'TRELLIS_XDS_ADDRESS', help: 'HOST:PORT for the xDS (ADS) gRPC server [127.0.0.1:15010]' },
  debugAddress: { flag: 'debug-address', env: 'TRELLIS_DEBUG_ADDRESS', help: 'HOST:PORT for the debug HTTP endpoint [127.0.0.1:15014]' },
  debounceMinMs: { flag: 'debounce-min', env: 'TRELLIS_DEBOUNCE_MIN_MS', help: 'quiet time after a change before pushing, ms [100]' },
  debounceMaxMs: { flag: 'debounce-max', env: 'TRELLIS_DEBOUNCE_MAX_MS', help: 'longest a change may wait before pushing, ms [1000]' },
  logLevel: { flag: 'log-level', env: 'TRELLIS_LOG_LEVEL', help: 'trace|debug|info|warn|error [info]' },
} as const satisfies Record<string, { flag: string; env: string; help: string }>;

export class ConfigError extends Error {}

/** Builds the config from parsed flags and the environment; throws ConfigError with one clear line. */
export function loadServeConfig(flags: Record<string, string | undefined>, env: NodeJS.ProcessEnv): ServeConfig {
  const raw: Record<string, string> = {};
  for (const [key, spec] of Object.entries(SERVE_FLAGS)) {
    const v = flags[spec.flag] ?? env[spec.env];
    if (v !== undefined) raw[key] = v;
  }
  const parsed = serveConfigSchema.safeParse(raw);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const key = String(issue?.path[0] ?? '');
    const spec = SERVE_FLAGS[key as keyof typeof SERVE_FLAGS];
    const where = spec ? `--${spec.flag} (${spec.env})` : 'config';
    throw new ConfigError(`${where}: ${issue?.message ?? 'invalid'}`);
  }
  return parsed.data;
}
