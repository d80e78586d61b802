/**
 * What the injection webhook of `trellis serve` injects: its flags over the defaults of
 * src/inject/settings.ts, and whether Envoy is a native sidecar — as the flag says, or, with
 * `--native-sidecars auto`, as the API server's version says (read once, at start).
 */
import type { KubeConfig } from '@kubernetes/client-node';
import type { ServeConfig } from '../config/config.js';
import { nativeSidecarsFor, type NativeDecision } from '../inject/native.js';
import { DEFAULT_SETTINGS, defaultXdsAddress, type InjectSettings } from '../inject/settings.js';
import { readServerVersion } from '../sources/kube/version.js';
import { hostPort } from '../host-port.js';

/** The settings the webhook injects with, and why Envoy is (or is not) a native sidecar. */
export interface Injection {
  readonly settings: InjectSettings;
  readonly nativeReason: string;
}

/** The settings, with the native-sidecar decision made (by the flag, or by the API server's version). */
export function injectionSettings(config: ServeConfig, decision: NativeDecision): Injection {
  const secureXds = config.issuer !== undefined;
  return {
    settings: {
      envoyImage: config.proxyImage ?? DEFAULT_SETTINGS.envoyImage,
      trellisImage: config.trellisImage ?? DEFAULT_SETTINGS.trellisImage,
      xdsAddress: config.injectedXdsAddress ?? defaultXdsAddress(config.leaseNamespace, secureXds),
      secureXds,
      nativeSidecars: decision.native,
      proxyResources: config.proxyResources ?? DEFAULT_SETTINGS.proxyResources,
    },
    nativeReason: decision.reason,
  };
}

/** The decision `--native-sidecars true|false` makes; undefined for auto (the API server decides). */
export function nativeByFlag(config: ServeConfig): NativeDecision | undefined {
  const flag = config.nativeSidecars ?? 'auto';
  return flag === 'auto' ? undefined : { native: flag === 'true', reason: `--native-sidecars ${flag}` };
}

/**
 * The webhook's settings, undefined without a webhook. With `--native-sidecars auto` reads the API
 * server's /version once; when it cannot be read, or does not say a version, rejects with one line:
 * guessing would inject Pods that do not start (native on a server before 1.29) or Jobs that never
 * complete (legacy where native was meant), so Trellis does not start and is restarted, as when a
 * port is taken.
 */
export async function resolveInjection(config: ServeConfig, kubeConfig: KubeConfig | undefined): Promise<Injection | undefined> {
  if (!config.webhookAddress) return undefined;
  const byFlag = nativeByFlag(config);
  if (byFlag) return injectionSettings(config, byFlag);
  const advice = 'give --native-sidecars true or false (TRELLIS_NATIVE_SIDECARS) to not depend on it';
  if (!kubeConfig) throw new Error(`--native-sidecars auto reads the API server's version, and there is no API server: ${advice}`);
  let version: Awaited<ReturnType<typeof readServerVersion>>;
  try {
    version = await readServerVersion(kubeConfig);
  } catch (err) {
    throw new Error(`--native-sidecars auto: ${(err as Error).message}; ${advice}`, { cause: err });
  }
  const decision = nativeSidecarsFor(version);
  if (!decision) {
    const said = JSON.stringify({ major: version.major, minor: version.minor, gitVersion: version.gitVersion });
    throw new Error(`--native-sidecars auto: the API server's /version does not say which version it is (${said}); ${advice}`);
  }
  return injectionSettings(config, decision);
}

/** One line for /debug and the log: what the webhook injects. */
export function describeInjection(i: Injection): string {
  const s = i.settings;
  const xds = `${hostPort(s.xdsAddress.host, s.xdsAddress.port)} (${s.secureXds ? 'TLS and a projected token' : 'plaintext'})`;
  const mode = s.nativeSidecars ? 'native sidecar' : 'first container (legacy)';
  const res = (['requests', 'limits'] as const)
    .flatMap((k) => {
      const entries = Object.entries(s.proxyResources[k] ?? {});
      return entries.length > 0 ? [`${k} ${entries.map(([n, q]) => `${n}=${q}`).join(',')}`] : [];
    })
    .join(' ');
  return `injects: proxy ${s.envoyImage}, capture ${s.trellisImage}, xDS ${xds}, Envoy as ${mode} (${i.nativeReason}), resources ${res || 'none'}`;
}
