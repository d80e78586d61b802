/**
 * Refusals: a bad annotation, a malformed inject label, a probe on a port the container does not
 * have, or a container name injection reserves, refuses the Pod with a message naming what is wrong.
 */
import { describe, expect, it } from 'vitest';
import { DEFAULT_SETTINGS, inject, injectObject, type PodLike } from '../../src/inject/index.ts';

const OPTED_IN = { 'trellis.dev/inject': 'enabled' };

function pod(annotations: Record<string, string> = {}, labels: Record<string, string> = {}): PodLike {
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name: 'cart', namespace: 'shop', annotations, labels },
    spec: { containers: [{ name: 'cart', image: 'ghcr.io/example/cart:1.4.2', ports: [{ name: 'http', containerPort: 8080 }] }] },
  };
}

function refusal(p: PodLike): string {
  const result = inject(p, OPTED_IN, DEFAULT_SETTINGS);
  if (result.kind !== 'refused') throw new Error(`expected a refusal, got ${result.kind}`);
  return result.message;
}

const PORTS = 'comma-separated ports 1-65535';
const CIDRS = 'comma-separated IPv4 or IPv6 CIDRs';
const BOOL = '"true" or "false"';

describe('a bad annotation refuses the Pod, naming the annotation, the value and what is allowed', () => {
  it.each([
    ['trellis.dev/exclude-inbound-ports', '8080,http', PORTS],
    ['trellis.dev/exclude-inbound-ports', '0', PORTS],
    ['trellis.dev/exclude-inbound-ports', '65536', PORTS],
    ['trellis.dev/exclude-inbound-ports', '80,,81', PORTS],
    ['trellis.dev/exclude-outbound-ports', '-1', PORTS],
    ['trellis.dev/exclude-outbound-ports', '443;5432', PORTS],
    ['trellis.dev/exclude-outbound-ports', '8080.5', PORTS],
    ['trellis.dev/exclude-outbound-cidrs', '10.0.0.0', CIDRS],
    ['trellis.dev/exclude-outbound-cidrs', '10.0.0.0/33', CIDRS],
    ['trellis.dev/exclude-outbound-cidrs', '300.1.1.1/8', CIDRS],
    ['trellis.dev/exclude-outbound-cidrs', 'fd00::/129', CIDRS],
    ['trellis.dev/exclude-outbound-cidrs', 'example.com/24', CIDRS],
    ['trellis.dev/rewrite-probes', 'yes', BOOL],
    ['trellis.dev/rewrite-probes', 'True', BOOL],
    ['trellis.dev/native-sidecar', '1', BOOL],
    ['trellis.dev/native-sidecar', '', BOOL],
  ])('%s: %j', (annotation, value, allowed) => {
    const message = refusal(pod({ [annotation]: value }));
    expect(message.startsWith(`annotation ${annotation}: ${JSON.stringify(value)} is not allowed: expected `)).toBe(true);
    expect(message).toContain(annotation);
    expect(message).toContain(JSON.stringify(value));
    expect(message).toContain(allowed);
  });

  it('takes good values of the same annotations', () => {
    const result = inject(
      pod({
        'trellis.dev/exclude-inbound-ports': '1, 65535',
        'trellis.dev/exclude-outbound-ports': '',
        'trellis.dev/exclude-outbound-cidrs': '0.0.0.0/0,::/0,2001:db8::/32',
        'trellis.dev/rewrite-probes': 'false',
        'trellis.dev/native-sidecar': 'false',
      }),
      OPTED_IN,
      DEFAULT_SETTINGS,
    );
    expect(result.kind).toBe('injected');
  });
});

describe('other refusals', () => {
  it('a malformed trellis.dev/inject label, naming the label', () => {
    expect(refusal(pod({}, { 'trellis.dev/inject': 'enabled' }))).toBe('label trellis.dev/inject: "enabled" is not allowed: expected "true" or "false"');
  });

  it.each([
    ['livenessProbe', { httpGet: { path: '/live', port: 'admin' } }],
    ['readinessProbe', { tcpSocket: { port: 'admin' } }],
  ])('a %s on a named port the container does not have, naming the container, the probe and the port', (kind, probe) => {
    const p = pod();
    const [container] = p.spec.containers;
    if (!container) throw new Error('no container');
    p.spec.containers = [{ ...container, [kind]: probe }];
    expect(refusal(p)).toBe(`container "cart" ${kind}: port "admin" is not a port of the container (its named ports are http)`);
  });

  it.each([
    ['livenessProbe', { httpGet: { path: '/live', port: 0 } }, '0'],
    ['readinessProbe', { tcpSocket: { port: 70000 } }, '70000'],
    ['startupProbe', { grpc: { port: -1 } }, '-1'],
  ])('a %s on a port out of range, naming the container, the probe and the port', (kind, probe, port) => {
    const p = pod();
    const [container] = p.spec.containers;
    if (!container) throw new Error('no container');
    p.spec.containers = [{ ...container, [kind]: probe }];
    expect(refusal(p)).toBe(`container "cart" ${kind}: port ${port} is not a port (1-65535)`);
  });

  it('a workload without a pod spec, naming where it was looked for', () => {
    const result = injectObject({ apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: 'x' }, spec: {} }, OPTED_IN, DEFAULT_SETTINGS);
    expect(result).toEqual({ kind: 'refused', message: 'no pod spec with containers at .spec.template.spec.containers' });
  });

  it('leaves a probe on a named port alone when probes are not rewritten', () => {
    const p = pod({ 'trellis.dev/rewrite-probes': 'false' });
    const [container] = p.spec.containers;
    if (!container) throw new Error('no container');
    p.spec.containers = [{ ...container, livenessProbe: { httpGet: { path: '/live', port: 'admin' } } }];
    expect(inject(p, OPTED_IN, DEFAULT_SETTINGS).kind).toBe('injected');
  });

  it('a container of its own named trellis-proxy, without an injection status', () => {
    const p = pod();
    p.spec.containers = [...p.spec.containers, { name: 'trellis-proxy', image: 'envoyproxy/envoy:v1.30.0' }];
    expect(refusal(p)).toContain('the pod already has a container named trellis-proxy');
  });
});
