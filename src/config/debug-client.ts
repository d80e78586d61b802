/**
 * The flags of the commands that read a running Trellis (`proxy-status`, `proxy-config`,
 * `policy-status`): where Trellis is — its debug endpoint (and, for proxy-status, its plaintext xDS
 * port, for client status) directly, or a Trellis pod of the chart through a port-forward — and how
 * to print what it says. Their positional arguments are checked here too, as flags are.
 */
import { z } from 'zod';
import { DEFAULT_NAMESPACE } from '../inject/settings.js';
import { ConfigError, DEFAULT_DEBUG_ADDRESS, DEFAULT_XDS_PLAINTEXT_ADDRESS, hostPort, loadConfig, type FlagSpec } from './config.js';

const TARGET_FLAGS = {
  debugAddress: { flag: 'debug-address', help: `Trellis's debug endpoint, HOST:PORT [${DEFAULT_DEBUG_ADDRESS}]` },
  kubeconfig: { flag: 'kubeconfig', help: 'reach a Trellis pod of the chart in this cluster through a port-forward, instead of --debug-address' },
  context: { flag: 'context', help: 'the kubeconfig context (default: its current context; the default kubeconfig without --kubeconfig)' },
  namespace: { flag: 'namespace', short: 'n', help: `the namespace Trellis runs in, with --kubeconfig or --context [${DEFAULT_NAMESPACE}]` },
  output: { flag: 'output', short: 'o', help: 'table (for people), json or yaml (for programs; see the README) [table]' },
} as const satisfies Record<string, FlagSpec>;

export const PROXY_STATUS_FLAGS = {
  ...TARGET_FLAGS,
  xdsAddress: { flag: 'xds-address', help: `Trellis's plaintext xDS port, where it serves client status (CSDS), HOST:PORT [${DEFAULT_XDS_PLAINTEXT_ADDRESS}]` },
} as const satisfies Record<string, FlagSpec>;

export const PROXY_CONFIG_FLAGS = TARGET_FLAGS;
export const POLICY_STATUS_FLAGS = TARGET_FLAGS;

type Address = z.output<typeof hostPort>;

/** A port-forward to a Trellis pod: found in `namespace` by the chart's labels. */
export interface KubeTarget {
  readonly kubeconfig?: string;
  readonly context?: string;
  readonly namespace: string;
}

/** Where Trellis is: its addresses, or the cluster it runs in. */
export type Target = { readonly kind: 'direct'; readonly debug: Address; readonly xds: Address } | ({ readonly kind: 'kube' } & KubeTarget);

export type OutputFormat = 'table' | 'json' | 'yaml';

const schema = z
  .object({
    debugAddress: hostPort.optional(),
    xdsAddress: hostPort.optional(),
    kubeconfig: z.string().min(1).optional(),
    context: z.string().min(1).optional(),
    namespace: z
      .string()
      .regex(/^[a-z0-9]([a-z0-9-]*[a-z0-9])?$/, 'expected a namespace name such as trellis-system')
      .optional(),
    output: z.enum(['table', 'json', 'yaml'], { error: 'expected table, json or yaml' }).default('table'),
  })
  .superRefine((c, ctx) => {
    const kube = c.kubeconfig !== undefined || c.context !== undefined;
    if (kube && c.debugAddress !== undefined) ctx.addIssue({ code: 'custom', path: ['debugAddress'], message: 'give it or --kubeconfig/--context, not both' });
    else if (kube && c.xdsAddress !== undefined) ctx.addIssue({ code: 'custom', path: ['xdsAddress'], message: 'give it or --kubeconfig/--context, not both' });
    else if (!kube && c.namespace !== undefined) ctx.addIssue({ code: 'custom', path: ['namespace'], message: 'only with --kubeconfig or --context' });
  });

export interface DebugClientConfig {
  readonly target: Target;
  readonly output: OutputFormat;
}

const DEFAULTS = { debug: hostPort.parse(DEFAULT_DEBUG_ADDRESS), xds: hostPort.parse(DEFAULT_XDS_PLAINTEXT_ADDRESS) };

function loadTarget(spec: Readonly<Record<string, FlagSpec>>, flags: Readonly<Record<string, string | undefined>>): DebugClientConfig {
  const c = loadConfig(schema, spec, flags, {});
  if (c.kubeconfig !== undefined || c.context !== undefined) {
    const kube = {
      namespace: c.namespace ?? DEFAULT_NAMESPACE,
      ...(c.kubeconfig ? { kubeconfig: c.kubeconfig } : {}),
      ...(c.context ? { context: c.context } : {}),
    };
    return { target: { kind: 'kube', ...kube }, output: c.output };
  }
  return { target: { kind: 'direct', debug: c.debugAddress ?? DEFAULTS.debug, xds: c.xdsAddress ?? DEFAULTS.xds }, output: c.output };
}

function atMostOne(positionals: readonly string[], what: string): string | undefined {
  if (positionals.length > 1) throw new ConfigError(`expected at most one ${what}, got ${positionals.length}: ${positionals.join(' ')}`);
  const [one] = positionals;
  if (one === '') throw new ConfigError(`${what} must not be empty`);
  return one;
}

export interface ProxyStatusConfig extends DebugClientConfig {
  /** One proxy's node id, or every connected proxy. */
  readonly proxy?: string;
}

export function loadProxyStatusConfig(flags: Readonly<Record<string, string | undefined>>, positionals: readonly string[]): ProxyStatusConfig {
  const proxy = atMostOne(positionals, 'PROXY');
  return { ...loadTarget(PROXY_STATUS_FLAGS, flags), ...(proxy === undefined ? {} : { proxy }) };
}

/** The types `proxy-config` shows, as named on its command line. */
const CONFIG_TYPES = ['clusters', 'listeners', 'routes', 'endpoints', 'secrets'] as const;
export type ConfigType = (typeof CONFIG_TYPES)[number];

export interface ProxyConfigConfig extends DebugClientConfig {
  readonly type: ConfigType;
  readonly proxy: string;
}

function isConfigType(s: string): s is ConfigType {
  return (CONFIG_TYPES as readonly string[]).includes(s);
}

export function loadProxyConfigConfig(flags: Readonly<Record<string, string | undefined>>, positionals: readonly string[]): ProxyConfigConfig {
  const [type, proxy, ...extra] = positionals;
  if (type === undefined || proxy === undefined || extra.length > 0 || proxy === '') {
    throw new ConfigError(
      `expected TYPE and PROXY (${CONFIG_TYPES.join('|')} and a node id), got ${positionals.length === 0 ? 'nothing' : positionals.join(' ')}`,
    );
  }
  const plural = type.endsWith('s') ? type : `${type}s`;
  if (!isConfigType(plural)) throw new ConfigError(`TYPE: expected ${CONFIG_TYPES.join(', ')}, got ${JSON.stringify(type)}`);
  return { ...loadTarget(PROXY_CONFIG_FLAGS, flags), type: plural, proxy };
}

export interface PolicyStatusConfig extends DebugClientConfig {
  readonly policy?: { readonly namespace: string; readonly name: string };
}

export function loadPolicyStatusConfig(flags: Readonly<Record<string, string | undefined>>, positionals: readonly string[]): PolicyStatusConfig {
  const ref = atMostOne(positionals, 'NAMESPACE/NAME');
  const base = loadTarget(POLICY_STATUS_FLAGS, flags);
  if (ref === undefined) return base;
  const m = /^([^/]+)\/([^/]+)$/.exec(ref);
  if (!m?.[1] || !m[2]) throw new ConfigError(`NAMESPACE/NAME: expected a TrafficPolicy as namespace/name, got ${JSON.stringify(ref)}`);
  return { ...base, policy: { namespace: m[1], name: m[2] } };
}
