/**
 * The grpc-js-xds 1.14 workarounds (src/translate/client-quirks/grpc-js-xds-1.14.ts), each against
 * the installed grpc-js-xds: one test shows the quirk with grpc-js-xds's own code (the cue to drop
 * the workaround when it stops holding), one fails when the workaround is taken out of translation.
 * The first test fails when the installed grpc-js-xds is not the version the module is for.
 *
 * grpc-js-xds has no public API for decoding or comparing resources; its build files are what the
 * client runs. The back-off tests resolve names with grpc-js-xds's own xds resolver, in process,
 * against an ADS server serving translateProxyless's resources.
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import * as grpc from '@grpc/grpc-js';
import * as grpcXds from '@grpc/grpc-js-xds';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { encodeMessage } from '../../src/envoy/codec.ts';
import type { Cluster } from '../../src/envoy/generated/envoy/config/cluster/v3/Cluster.ts';
import type { RouteConfiguration } from '../../src/envoy/generated/envoy/config/route/v3/RouteConfiguration.ts';
import { messageNameOf, TypeUrl } from '../../src/envoy/types.ts';
import type { TranslatedResources } from '../../src/envoy/resources.ts';
import type { ModelService } from '../../src/model/types.ts';
import { mergePolicies } from '../../src/policy/merge.ts';
import type { PolicySettings } from '../../src/policy/schema.ts';
import { GRPC_JS_XDS_VERSION, NO_EJECTION } from '../../src/translate/client-quirks/grpc-js-xds-1.14.ts';
import { proxylessOutbound } from '../../src/translate/proxyless-outbound.ts';
import { translateProxyless } from '../../src/translate/proxyless.ts';
import { ref } from '../support/diagnostics.ts';
import { startTestServer, type TestServer } from '../support/trellis.ts';
import { renderTestBootstrap } from '../support/xds-app.ts';
import { endpoint, modelOf, port, service } from './model-fixtures.ts';

const require = createRequire(import.meta.url);

// ---------------------------------------------------------------------------------------------
// grpc-js-xds's decoding and comparison of resources, as its xds-client.js runs them

interface Decoded {
  name: string;
  value?: object;
  error?: string;
}
interface ResourceType {
  decode(context: object, resource: { type_url: string; value: Buffer }): Decoded;
  resourcesEqual(held: object | null, received: object | null): boolean;
}

grpcXds.register(); // the filters a route configuration's settings are validated with, and the xds resolver
const BUILD = '@grpc/grpc-js-xds/build/src';
type Singleton = { get(): ResourceType };
const CLUSTERS = (require(`${BUILD}/xds-resource-type/cluster-resource-type.js`) as { ClusterResourceType: Singleton }).ClusterResourceType.get();
const ROUTES = (
  require(`${BUILD}/xds-resource-type/route-config-resource-type.js`) as { RouteConfigurationResourceType: Singleton }
).RouteConfigurationResourceType.get();
const { validateBootstrapConfig } = require(`${BUILD}/xds-bootstrap.js`) as { validateBootstrapConfig: (o: object) => { xdsServers: object[] } };

const BOOTSTRAP = validateBootstrapConfig(renderTestBootstrap({ xdsServer: '127.0.0.1:1', nodeId: 'quirks' }));
const CONTEXT = { server: BOOTSTRAP.xdsServers[0], bootstrap: BOOTSTRAP };

function decoded(type: ResourceType, typeUrl: string, message: object): object {
  const result = type.decode(CONTEXT, { type_url: typeUrl, value: Buffer.from(encodeMessage(messageNameOf(typeUrl), message)) });
  if (!result.value) throw new Error(`grpc-js-xds rejects it: ${result.error ?? '?'}`);
  return result.value;
}

/** Whether a grpc-js-xds client holding `held` takes `received` for no change (and so never applies it). */
function takenForUnchanged(type: 'cluster' | 'route', held: object, received: object): boolean {
  const [t, url] = type === 'cluster' ? [CLUSTERS, TypeUrl.cluster] : [ROUTES, TypeUrl.route];
  return t.resourcesEqual(decoded(t, url, held), decoded(t, url, received));
}

// ---------------------------------------------------------------------------------------------
// the translation of one gRPC service port, with or without a policy

const NS = 'default';

function greeter(name: string, settings?: PolicySettings): ModelService {
  const p = port('grpc', 50051, 'grpc', [endpoint('127.0.0.1', 50051, 'zone-a')]);
  const policy = settings ? { policy: mergePolicies([{ ref: ref(`TrafficPolicy ${NS}/${name}`), settings }]).merged } : {};
  return service(NS, name, { clusterIP: '10.96.0.11', ports: [{ ...p, ...policy }] });
}

function translated(settings?: PolicySettings, kind: 'ClusterIP' | 'ExternalName' = 'ClusterIP'): { cluster: Cluster; route: RouteConfiguration } {
  const s = greeter('greeter', settings);
  const svc = kind === 'ExternalName' ? { ...s, kind, externalName: 'localhost', selector: {}, ports: s.ports.map((p) => ({ ...p, endpoints: [] })) } : s;
  const sp = proxylessOutbound([svc]).ports[0];
  if (!sp) throw new Error('no service port');
  return { cluster: sp.cluster.message, route: sp.route.message };
}

/** The route configuration as it would be without the digest: its virtual host named after it. */
function withoutDigest(route: RouteConfiguration): RouteConfiguration {
  return { ...route, virtual_hosts: (route.virtual_hosts ?? []).map((vh) => ({ ...vh, name: route.name ?? '' })) };
}

const EJECTING = { outlierDetection: { interval: '1s', failurePercentage: { threshold: 50 } } } satisfies PolicySettings;
const DELAY = { delay: { fixedDelay: '600ms', percent: 40 } } as const;
const ABORT = { abort: { grpcStatus: 'DATA_LOSS', percent: 25 } } as const;

describe('the grpc-js-xds installed', () => {
  it(`is ${GRPC_JS_XDS_VERSION}, the version the workarounds are for: on an upgrade, re-check each quirk below, drop the workarounds it fixed, then move GRPC_JS_XDS_VERSION`, () => {
    const installed = (JSON.parse(readFileSync(require.resolve('@grpc/grpc-js-xds/package.json'), 'utf8')) as { version: string }).version;
    expect(installed).toBe(GRPC_JS_XDS_VERSION);
  });
});

describe('a cluster that gains outlier detection from a policy (outlierDetectionPlaceholder)', () => {
  it.each(['ClusterIP', 'ExternalName'] as const)(
    'grpc-js-xds still takes it for no change when the %s cluster it holds has none (grpc/grpc-node#3074; else drop the workaround)',
    (kind) => {
      const { outlier_detection: _placeholder, ...held } = translated(undefined, kind).cluster;
      expect(takenForUnchanged('cluster', held, translated(EJECTING, kind).cluster)).toBe(true);
    },
  );

  it.each(['ClusterIP', 'ExternalName'] as const)('is a change to grpc-js-xds, because every proxyless %s cluster holds one that ejects nothing', (kind) => {
    const held = translated(undefined, kind).cluster;
    expect(held.outlier_detection).toEqual(NO_EJECTION);
    expect(takenForUnchanged('cluster', held, translated(EJECTING, kind).cluster)).toBe(false);
  });

  it('ejects nothing as grpc-js-xds reads it: neither success-rate nor failure-percentage ejection', () => {
    const { outlierDetectionUpdate } = decoded(CLUSTERS, TypeUrl.cluster, translated().cluster) as { outlierDetectionUpdate: Record<string, unknown> };
    expect(outlierDetectionUpdate.success_rate_ejection).toBeUndefined();
    expect(outlierDetectionUpdate.failure_percentage_ejection).toBeUndefined();
  });
});

describe('a virtual host whose filter settings are added or grow (virtualHostName)', () => {
  const cases = [
    { change: 'fault injection added', before: undefined, after: { faultInjection: ABORT } },
    { change: 'a delay that gains an abort', before: { faultInjection: DELAY }, after: { faultInjection: { ...DELAY, ...ABORT } } },
  ] satisfies { change: string; before: PolicySettings | undefined; after: PolicySettings }[];

  it.each(cases)('grpc-js-xds still takes $change for no change without the digest (grpc/grpc-node#3074; else drop the workaround)', ({ before, after }) => {
    expect(takenForUnchanged('route', withoutDigest(translated(before).route), withoutDigest(translated(after).route))).toBe(true);
  });

  it.each(cases)('is a change to grpc-js-xds with the digest: $change', ({ before, after }) => {
    const [held, received] = [translated(before).route, translated(after).route];
    expect(received.virtual_hosts?.[0]?.name).toMatch(/^greeter\.default\.svc\.cluster\.local:50051 \[envoy\.filters\.http\.fault [0-9a-f]{8}\]$/);
    expect(takenForUnchanged('route', held, received)).toBe(false);
  });
});

// ---------------------------------------------------------------------------------------------
// retry back-off, as grpc-js-xds's xds resolver turns it into a gRPC retry policy

interface RetryPolicy {
  initialBackoff: string;
  maxBackoff: string;
}
interface ConfigSelector {
  invoke(method: string, metadata: grpc.Metadata, channelId: number): { methodConfig: { retryPolicy?: RetryPolicy } };
}

function retrying(backoff: { base: string; max?: string }): PolicySettings {
  return { retries: { attempts: 1, retryOn: ['unavailable'], backoff } };
}
/** Served as translated, but with its back-off set to 1.5s up to 2s behind Trellis's back. */
const RAW = 'raw';

let ads: TestServer;

/** The translation, with RAW's back-off intervals replaced (they are 100ms and 800ms in its policy). */
function served(services: ModelService[]): TranslatedResources {
  const { resources } = translateProxyless(modelOf(services), { mode: 'proxyless', namespace: NS });
  const rawBackOff = { base_interval: { seconds: 1, nanos: 500_000_000 }, max_interval: { seconds: 2 } };
  const route = resources.route.map((r) =>
    r.name.startsWith(`${RAW}.`)
      ? {
          ...r,
          message: {
            ...r.message,
            virtual_hosts: (r.message.virtual_hosts ?? []).map((vh) => ({
              ...vh,
              routes: (vh.routes ?? []).map((rt) => ({
                ...rt,
                route: { ...rt.route, retry_policy: { ...rt.route?.retry_policy, retry_back_off: rawBackOff } },
              })),
            })),
          },
        }
      : r,
  );
  return { ...resources, route };
}

/** The retry policy grpc-js-xds's resolver gives a call to `name`. */
async function resolvedRetryPolicy(name: string): Promise<RetryPolicy | undefined> {
  const options = {
    'grpc.TEST_ONLY_DO_NOT_USE_IN_PROD.xds_bootstrap_config': JSON.stringify(renderTestBootstrap({ xdsServer: ads.address, nodeId: 'quirks' })),
  };
  let resolver: { updateResolution(): void; destroy(): void } | undefined;
  try {
    const selector = await new Promise<ConfigSelector>((resolve, reject) => {
      resolver = grpc.experimental.createResolver(
        { scheme: 'xds', path: `${name}.${NS}.svc.cluster.local:50051` },
        (endpoints, attributes) => {
          const s = attributes[grpc.experimental.CHANNEL_ARGS_CONFIG_SELECTOR_KEY];
          if (s) resolve(s as ConfigSelector);
          else reject(new Error(endpoints.ok ? 'no config selector' : endpoints.error.details));
          return true;
        },
        options,
      );
      resolver.updateResolution();
    });
    return selector.invoke('/helloworld.Greeter/SayHello', new grpc.Metadata(), 0).methodConfig.retryPolicy;
  } finally {
    resolver?.destroy();
  }
}

beforeAll(async () => {
  ads = await startTestServer();
  const services = [
    greeter(RAW, retrying({ base: '100ms', max: '800ms' })),
    greeter('wide-base', retrying({ base: '1.5s' })),
    greeter('wide-max', retrying({ base: '100ms', max: '2s' })),
  ];
  expect(ads.cache.set('default', served(services))).toEqual([]);
  ads.cache.markReady();
});

afterAll(async () => {
  await ads?.close();
});

describe('retry back-off intervals of 1s or more (misreadsBackOff)', () => {
  it('grpc-js-xds still reads 1.5s as 10.5s and 2s as 20s (else drop the workaround)', async () => {
    expect(await resolvedRetryPolicy(RAW)).toMatchObject({ initialBackoff: '10.5s', maxBackoff: '20s' });
  });

  it.each([
    // gRPC's default back-off: from 25ms up to 250ms.
    { name: 'wide-base', policy: 'a base of 1.5s', initialBackoff: '0.025s', maxBackoff: '0.25s' },
    // Up to 10 × base. grpc-js-xds writes 100ms as '0' + 0.1: '00.1s', which reads right.
    { name: 'wide-max', policy: 'a max of 2s', initialBackoff: '00.1s', maxBackoff: '1s' },
  ])('are left out, so that grpc-js-xds backs off as gRPC does by default: $policy', async ({ name, initialBackoff, maxBackoff }) => {
    expect(await resolvedRetryPolicy(name)).toEqual(expect.objectContaining({ initialBackoff, maxBackoff }));
  });
});
