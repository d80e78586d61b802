/**
 * The admission decision as a pure function: an AdmissionReview v1 request in, the response out.
 * The patch, applied to the reviewed Pod with fast-json-patch, gives exactly what inject() makes.
 */
import jsonpatch from 'fast-json-patch';
import { describe, expect, it } from 'vitest';
import { admit, parseAdmissionReview, type AdmissionReview } from '../../src/inject/admission.ts';
import { DEFAULT_SETTINGS, inject, type PodLike } from '../../src/inject/index.ts';

const OPTED_IN = { 'trellis.dev/inject': 'enabled' };

function pod(annotations: Record<string, string> = {}, labels: Record<string, string> = {}, spec: Partial<PodLike['spec']> = {}): PodLike {
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name: 'cart', namespace: 'shop', annotations, labels },
    spec: {
      containers: [
        {
          name: 'cart',
          image: 'ghcr.io/example/cart:1.4.2',
          ports: [{ name: 'http', containerPort: 8080 }],
          readinessProbe: { httpGet: { path: '/ready', port: 'http' } },
        },
      ],
      ...spec,
    },
  };
}

function review(object: unknown, over: Record<string, unknown> = {}): AdmissionReview {
  return {
    apiVersion: 'admission.k8s.io/v1',
    kind: 'AdmissionReview',
    request: {
      uid: 'b3c1e0f2-7d7a-4c38-9d61-1f0b0c2a9e11',
      kind: { group: '', version: 'v1', kind: 'Pod' },
      operation: 'CREATE',
      namespace: 'shop',
      object,
      ...over,
    },
  };
}

function patchOf(patch: string | undefined): jsonpatch.Operation[] {
  if (patch === undefined) throw new Error('no patch');
  return JSON.parse(Buffer.from(patch, 'base64').toString('utf8')) as jsonpatch.Operation[];
}

describe('admit', () => {
  it('injects a Pod: uid echoed, a base64 JSON Patch that turns the reviewed Pod into the injected one', () => {
    const input = pod({ 'trellis.dev/exclude-outbound-ports': '5432' });
    const { response, outcome } = admit(review(input), DEFAULT_SETTINGS);
    expect(outcome).toBe('injected');
    expect(response).toMatchObject({
      apiVersion: 'admission.k8s.io/v1',
      kind: 'AdmissionReview',
      response: { uid: 'b3c1e0f2-7d7a-4c38-9d61-1f0b0c2a9e11', allowed: true, patchType: 'JSONPatch' },
    });
    const expected = inject(input, OPTED_IN, DEFAULT_SETTINGS);
    if (expected.kind !== 'injected') throw new Error(expected.kind);
    const patched = jsonpatch.applyPatch(structuredClone(input), patchOf(response.response.patch), true, false).newDocument;
    expect(patched).toEqual(expected.pod);
    expect(patched).not.toEqual(input);
  });

  it('the patch applies to a Pod without annotations or labels (paths created, not assumed)', () => {
    const input: PodLike = { apiVersion: 'v1', kind: 'Pod', metadata: { generateName: 'cart-' }, spec: { containers: [{ name: 'cart', image: 'cart:1' }] } };
    const { response } = admit(review(input), DEFAULT_SETTINGS);
    const patched = jsonpatch.applyPatch(structuredClone(input), patchOf(response.response.patch), true, false).newDocument;
    expect(patched.spec.initContainers?.map((c) => c.name)).toEqual(['trellis-capture', 'trellis-proxy']);
    expect(patched.metadata?.annotations?.['trellis.dev/status']).toBeDefined();
  });

  it.each([
    ['the pod opts out', pod({}, { 'trellis.dev/inject': 'false' }), /opts out/],
    ['hostNetwork', pod({}, {}, { hostNetwork: true }), /host network/],
  ])('skips (%s): allowed, no patch', (_name, input, reason) => {
    const out = admit(review(input), DEFAULT_SETTINGS);
    expect(out.outcome).toBe('skipped');
    expect(out.reason).toMatch(reason);
    expect(out.response.response).toEqual({ uid: 'b3c1e0f2-7d7a-4c38-9d61-1f0b0c2a9e11', allowed: true });
  });

  it('an injected Pod reviewed again (reinvocation) is allowed without a patch', () => {
    const first = inject(pod(), OPTED_IN, DEFAULT_SETTINGS);
    if (first.kind !== 'injected') throw new Error(first.kind);
    const out = admit(review(first.pod), DEFAULT_SETTINGS);
    expect(out.outcome).toBe('skipped');
    expect(out.response.response.patch).toBeUndefined();
  });

  it.each([
    ['trellis.dev/exclude-inbound-ports', '8080,http'],
    ['trellis.dev/exclude-outbound-cidrs', '10.0.0.0/33'],
    ['trellis.dev/native-sidecar', 'yes'],
  ])('refuses a bad annotation %s=%s: not allowed, 403, the message names the annotation', (annotation, value) => {
    const out = admit(review(pod({ [annotation]: value })), DEFAULT_SETTINGS);
    expect(out.outcome).toBe('refused');
    expect(out.response.response).toEqual({
      uid: 'b3c1e0f2-7d7a-4c38-9d61-1f0b0c2a9e11',
      allowed: false,
      status: {
        status: 'Failure',
        code: 403,
        reason: 'Forbidden',
        message: expect.stringContaining(`annotation ${annotation}: ${JSON.stringify(value)}`) as string,
      },
    });
  });

  it.each([
    ['UPDATE of a Pod', { operation: 'UPDATE' }],
    ['DELETE of a Pod', { operation: 'DELETE', object: null }],
    ['CREATE of a Service', { kind: { group: '', version: 'v1', kind: 'Service' } }],
    ['CREATE of a Deployment', { kind: { group: 'apps', version: 'v1', kind: 'Deployment' } }],
  ])('anything but the CREATE of a Pod (%s) is allowed untouched', (_name, over) => {
    const out = admit(review(pod(), over), DEFAULT_SETTINGS);
    expect(out.outcome).toBe('ignored');
    expect(out.response.response).toEqual({ uid: 'b3c1e0f2-7d7a-4c38-9d61-1f0b0c2a9e11', allowed: true });
  });
});

describe('parseAdmissionReview', () => {
  it.each([
    ['an array', [], 'not a JSON object'],
    ['a v1beta1 review', { apiVersion: 'admission.k8s.io/v1beta1', kind: 'AdmissionReview', request: { uid: 'x' } }, 'expected apiVersion admission.k8s.io/v1'],
    ['another kind', { apiVersion: 'admission.k8s.io/v1', kind: 'Pod', request: { uid: 'x' } }, 'kind AdmissionReview'],
    ['no request', { apiVersion: 'admission.k8s.io/v1', kind: 'AdmissionReview' }, 'no request.uid'],
    ['an empty uid', { apiVersion: 'admission.k8s.io/v1', kind: 'AdmissionReview', request: { uid: '' } }, 'no request.uid'],
  ])('%s is refused with one line', (_name, body, message) => {
    const out = parseAdmissionReview(body);
    expect(typeof out).toBe('string');
    expect(out).toContain(message);
    expect(out).not.toContain('\n');
  });

  it('a review is taken as it is', () => {
    const r = review(pod());
    expect(parseAdmissionReview(JSON.parse(JSON.stringify(r)))).toEqual(r);
  });
});
