/**
 * Sidecar injection as a pure function: a Pod (or a workload's pod template) and its namespace's
 * labels in, the injected Pod, the reason it is left alone, or a refusal out. No I/O, no clock, no
 * randomness; the input is never mutated. inject(inject(p)) equals inject(p): a Pod that carries
 * `trellis.dev/status` and the containers it names is already injected and comes back as it is.
 */
import { AnnotationError, podOptions, type PodOptions } from './annotations.js';
import { captureContainer, proxyContainer, proxyVolumes } from './containers.js';
import { ProbeError, rewriteProbes, type OriginalProbes } from './probes.js';
import { ANNOTATIONS, DEFAULT_CONTAINER_ANNOTATION, LABEL_INJECT, NAMES, NAMESPACE_INJECT_VALUE, type InjectSettings } from './settings.js';
import type { Container, PodLike } from './types.js';

export type InjectResult =
  | { readonly kind: 'injected'; readonly pod: PodLike }
  | { readonly kind: 'skipped'; readonly reason: string; readonly pod: PodLike }
  | { readonly kind: 'refused'; readonly message: string };

/** What `trellis.dev/status` records. */
export interface InjectionStatus {
  readonly initContainers: readonly string[];
  readonly containers: readonly string[];
  readonly volumes: readonly string[];
  readonly image: string;
  readonly nativeSidecar: boolean;
  readonly probes: OriginalProbes;
}

/** The status a Pod carries, if it parses as one. */
export function injectionStatus(pod: PodLike): InjectionStatus | undefined {
  const text = pod.metadata?.annotations?.[ANNOTATIONS.status];
  if (text === undefined) return undefined;
  try {
    const status = JSON.parse(text) as Partial<InjectionStatus> | null;
    if (!status || !Array.isArray(status.containers) || !Array.isArray(status.initContainers)) return undefined;
    return status as InjectionStatus;
  } catch {
    return undefined;
  }
}

function alreadyInjected(pod: PodLike): boolean {
  const status = injectionStatus(pod);
  if (!status) return false;
  const present = new Set([...(pod.spec.initContainers ?? []), ...pod.spec.containers].map((c) => c.name));
  return [...status.initContainers, ...status.containers].every((name) => present.has(name));
}

/** Why a Pod is not injected, or undefined when it is to be. Throws for a malformed inject label. */
function skipReason(pod: PodLike, namespaceLabels: Readonly<Record<string, string>>): string | undefined {
  if (pod.spec.hostNetwork === true) return 'it uses the host network (spec.hostNetwork): capture would redirect the traffic of the node itself';
  const label = pod.metadata?.labels?.[LABEL_INJECT];
  if (label !== undefined && label !== 'true' && label !== 'false') {
    throw new AnnotationError(LABEL_INJECT, label, '"true" or "false"', 'label');
  }
  if (label === 'false') return `the pod opts out (label ${LABEL_INJECT}: "false")`;
  if (label !== 'true' && namespaceLabels[LABEL_INJECT] !== NAMESPACE_INJECT_VALUE) {
    return `its namespace is not labelled ${LABEL_INJECT}=${NAMESPACE_INJECT_VALUE} and the pod has no label ${LABEL_INJECT}: "true"`;
  }
  if (alreadyInjected(pod)) return `it is already injected (annotation ${ANNOTATIONS.status})`;
  return undefined;
}

function userContainersClashing(pod: PodLike): string | undefined {
  const taken = [...(pod.spec.initContainers ?? []), ...pod.spec.containers].map((c) => c.name);
  const clash = [NAMES.proxy, NAMES.capture].find((n) => taken.includes(n));
  return clash && `the pod already has a container named ${clash}, a name injection reserves (and no valid ${ANNOTATIONS.status})`;
}

function injectSpec(pod: PodLike, settings: InjectSettings, options: PodOptions): PodLike {
  const rewritten = options.rewriteProbes ? rewriteProbes(pod.spec.containers) : { containers: pod.spec.containers, original: {}, routes: [] };
  const proxy = proxyContainer(settings, options, rewritten.routes);
  const capture = captureContainer(settings, options);
  const userInit = pod.spec.initContainers ?? [];
  const initContainers: Container[] = options.nativeSidecar ? [capture, proxy, ...userInit] : [capture, ...userInit];
  const containers: Container[] = options.nativeSidecar ? rewritten.containers : [proxy, ...rewritten.containers];
  const volumes = proxyVolumes(settings);
  const status: InjectionStatus = {
    initContainers: options.nativeSidecar ? [NAMES.capture, NAMES.proxy] : [NAMES.capture],
    containers: options.nativeSidecar ? [] : [NAMES.proxy],
    volumes: volumes.map((v) => v.name),
    image: settings.envoyImage,
    nativeSidecar: options.nativeSidecar,
    probes: rewritten.original,
  };
  const annotations: Record<string, string> = { ...pod.metadata?.annotations, [ANNOTATIONS.status]: JSON.stringify(status) };
  const first = pod.spec.containers[0];
  if (first && annotations[DEFAULT_CONTAINER_ANNOTATION] === undefined) annotations[DEFAULT_CONTAINER_ANNOTATION] = first.name;
  return {
    ...pod,
    metadata: { ...pod.metadata, annotations },
    spec: {
      ...pod.spec,
      initContainers,
      containers,
      ...(volumes.length > 0 ? { volumes: [...(pod.spec.volumes ?? []), ...volumes] } : {}),
    },
  };
}

/**
 * Injects one Pod. `namespaceLabels` are the labels of the Pod's namespace (`trellis.dev/inject=enabled`
 * opts it in); the Pod's own label `trellis.dev/inject` wins over them.
 */
export function inject(input: PodLike, namespaceLabels: Readonly<Record<string, string>>, settings: InjectSettings): InjectResult {
  const pod = structuredClone(input);
  try {
    const reason = skipReason(pod, namespaceLabels);
    if (reason !== undefined) return { kind: 'skipped', reason: `not injected, because ${reason}`, pod };
    const clash = userContainersClashing(pod);
    if (clash) return { kind: 'refused', message: clash };
    const options = podOptions(pod.metadata?.annotations ?? {}, settings.nativeSidecars);
    return { kind: 'injected', pod: injectSpec(pod, settings, options) };
  } catch (err) {
    if (err instanceof AnnotationError || err instanceof ProbeError) return { kind: 'refused', message: err.message };
    throw err;
  }
}
