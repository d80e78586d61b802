/**
 * Golden injection cases: testdata/<case>.in.yaml (an options document, then a Pod or workload) →
 * <case>.out.yaml (the injected object as `trellis inject` prints it; a Pod left alone is preceded by
 * the reason, a refused one is only `# refused: <message>`) and, for an injected pod,
 * <case>.patch.json: the JSON Patch the admission server answers with (admission.ts podPatch, what
 * admit() sends). Every output passes the Kubernetes schema of its kind, parses back to the object,
 * and comes back unchanged when injected again; the patch applied to the input is the output; the
 * input is never mutated (it is frozen); the containers are in the order injection promises
 * (expectOrder: native and legacy). The bootstrap given to Envoy (--config-yaml) is an Envoy
 * Bootstrap by Envoy's own field and validation rules.
 *
 * The webhook only receives Pods: for a Deployment, Job and the like, the API server sends the Pods
 * their controllers make from the pod template, so the patch of a workload case is that of its pod
 * template (the fields a controller adds to the Pod, its name and owner, are not touched by injection
 * and do not change the patch). Each patch is also checked against admit() itself, given the pod in a
 * review, except for a case whose namespace is not opted in: the webhook's namespaceSelector never
 * sends those.
 */
import jsonpatch, { type Operation } from 'fast-json-patch';
import { parse } from 'yaml';
import { describe, expect, it } from 'vitest';
import { checkFields } from '../../src/envoy/codec.ts';
import { validateMessage } from '../../src/envoy/validate.ts';
import { admit, ADMISSION_API_VERSION, injectedYaml, injectObject, podOf, podPatch, type PodLike } from '../../src/inject/index.ts';
import { bootstrapMessage } from '../bootstrap/message.ts';
import { caseNames, checkOutput, checkPatch, frozen, loadCase, orphanOutputs, proxyBootstraps, schemaErrors, type InjectCase } from './support.ts';

function outcome(result: ReturnType<typeof injectObject>): unknown {
  if (result.kind === 'refused') return { refused: result.message };
  return result.kind === 'passed' ? result.object : result.pod;
}

function pod(object: unknown): PodLike {
  const p = podOf(object);
  if (!p) throw new Error('no pod in the case');
  return p;
}

/** What admit() answers for the case's pod: its patch decoded, or the refusal's message. */
function admitted(c: InjectCase): { patch?: Operation[]; refused?: string } {
  const review = {
    apiVersion: ADMISSION_API_VERSION,
    kind: 'AdmissionReview',
    request: { uid: `golden-${c.name}`, kind: { group: '', version: 'v1', kind: 'Pod' }, operation: 'CREATE', object: pod(c.object) },
  } as const;
  const { response } = admit(review, c.settings).response;
  if (!response.allowed) return { refused: response.status?.message ?? '' };
  return response.patch ? { patch: JSON.parse(Buffer.from(response.patch, 'base64').toString('utf8')) as Operation[] } : {};
}

const names = (cs: readonly { name: string }[] | undefined) => (cs ?? []).map((x) => x.name);

/**
 * The order injection promises, whatever the golden file says: capture is the first init container;
 * native: Envoy right after it (restartPolicy Always, with a startupProbe), then the pod's own init
 * containers; legacy: the pod's own init containers after capture and Envoy the first container.
 * The pod's containers keep their order.
 */
function expectOrder(input: PodLike, output: PodLike): void {
  const status = JSON.parse(output.metadata?.annotations?.['trellis.dev/status'] ?? '{}') as { nativeSidecar?: boolean };
  const [userInit, userApps] = [names(input.spec.initContainers), names(input.spec.containers)];
  const init = output.spec.initContainers ?? [];
  if (status.nativeSidecar) {
    expect(names(init)).toEqual(['trellis-capture', 'trellis-proxy', ...userInit]);
    expect(names(output.spec.containers)).toEqual(userApps);
    expect(init[1]?.restartPolicy).toBe('Always');
    expect(init[1]?.startupProbe).toBeDefined();
  } else {
    expect(names(init)).toEqual(['trellis-capture', ...userInit]);
    expect(names(output.spec.containers)).toEqual(['trellis-proxy', ...userApps]);
    expect(output.spec.containers[0]?.restartPolicy).toBeUndefined();
  }
}

const optedIn = (c: InjectCase) => c.namespaceLabels['trellis.dev/inject'] === 'enabled';

describe('injection golden cases', () => {
  it.each(caseNames())('%s', (name) => {
    const c = loadCase(name);
    const result = injectObject(frozen(c.object), c.namespaceLabels, c.settings);
    if (result.kind === 'refused') {
      checkOutput(name, `# refused: ${result.message}\n`);
      checkPatch(name, undefined);
      expect(admitted(c)).toEqual({ refused: result.message });
      return;
    }
    const object = outcome(result);
    const text = injectedYaml(object);
    checkOutput(name, result.kind === 'skipped' ? `# ${result.reason}\n${text}` : text);
    if (result.kind === 'skipped') expect(object).toEqual(c.object);
    expect(parse(text)).toEqual(object);
    expect(schemaErrors(object)).toEqual([]);
    expect(outcome(injectObject(frozen(object), c.namespaceLabels, c.settings))).toEqual(object);
    for (const bootstrap of proxyBootstraps(object)) {
      const message = bootstrapMessage(bootstrap);
      expect(checkFields('envoy.config.bootstrap.v3.Bootstrap', message)).toEqual([]);
      expect(validateMessage('envoy.config.bootstrap.v3.Bootstrap', message)).toEqual([]);
    }
    expect(proxyBootstraps(object).length).toBe(result.kind === 'injected' ? 1 : 0);

    if (result.kind === 'injected') expectOrder(pod(c.object), pod(object));
    const patch = result.kind === 'injected' ? podPatch(pod(c.object), pod(object)) : undefined;
    checkPatch(name, patch);
    if (patch) expect(jsonpatch.applyPatch(structuredClone(pod(c.object)), patch, true, false).newDocument).toEqual(pod(object));
    if (optedIn(c)) expect(admitted(c)).toEqual(patch ? { patch } : {});
  });

  it('finds unknown fields (the schema validators let them through), so the check above can fail', () => {
    const pod = { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'a', labelz: {} }, spec: { containers: [{ name: 'a', image: 'x', bogus: 1 }] } };
    expect(schemaErrors(pod)).toEqual(['unknown field .metadata.labelz', 'unknown field .spec.containers[0].bogus']);
    expect(schemaErrors({ ...pod, spec: { containers: [{ name: 'a', image: 'x', ports: [{ containerPort: 'http' }] }] } })[0]).toContain('containerPort');
  });

  it('has an input for every output', () => {
    expect(orphanOutputs(), 'orphaned golden files (remove them, or run UPDATE_GOLDEN=1)').toEqual([]);
  });
});
