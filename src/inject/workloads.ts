/**
 * Injection of Kubernetes objects as they sit in a GitOps repository: a Pod itself, or the pod
 * template of a Deployment, StatefulSet, DaemonSet, Job or CronJob. Any other kind is not a pod's
 * and passes through.
 */
import { inject, type InjectResult } from './inject.js';
import type { InjectSettings } from './settings.js';
import type { PodLike } from './types.js';

/** Where each kind keeps its pod template. */
const TEMPLATE_PATHS: Readonly<Record<string, readonly string[]>> = {
  Pod: [],
  Deployment: ['spec', 'template'],
  StatefulSet: ['spec', 'template'],
  DaemonSet: ['spec', 'template'],
  Job: ['spec', 'template'],
  CronJob: ['spec', 'jobTemplate', 'spec', 'template'],
};

export type ObjectResult = { readonly kind: 'passed'; readonly reason: string; readonly object: unknown } | InjectResult;

type Obj = Record<string, unknown>;
const isObject = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);

/** `Kind namespace/name` of an object, for messages. */
export function describeObject(object: unknown): string {
  if (!isObject(object)) return 'a document that is not an object';
  const meta = isObject(object.metadata) ? object.metadata : {};
  const name = typeof meta.name === 'string' ? meta.name : typeof meta.generateName === 'string' ? `${meta.generateName}*` : '(unnamed)';
  const ns = typeof meta.namespace === 'string' ? `${meta.namespace}/` : '';
  return `${typeof object.kind === 'string' ? object.kind : '(no kind)'} ${ns}${name}`;
}

function isPodLike(v: unknown): v is PodLike {
  return isObject(v) && isObject(v.spec) && Array.isArray(v.spec.containers);
}

/** The pod of an object: a Pod itself, a workload's pod template; undefined for other kinds or without a pod spec. */
export function podOf(object: unknown): PodLike | undefined {
  const path = isObject(object) && typeof object.kind === 'string' ? TEMPLATE_PATHS[object.kind] : undefined;
  if (!path) return undefined;
  let template: unknown = object;
  for (const key of path) template = isObject(template) ? template[key] : undefined;
  return isPodLike(template) ? template : undefined;
}

/** Injects an object's pod; what is not a pod's kind, or has no pod spec, passes through as it is. */
export function injectObject(object: unknown, namespaceLabels: Readonly<Record<string, string>>, settings: InjectSettings): ObjectResult {
  const path = isObject(object) && typeof object.kind === 'string' ? TEMPLATE_PATHS[object.kind] : undefined;
  if (!path || !isObject(object)) return { kind: 'passed', reason: 'not a kind that runs pods', object };
  let template: unknown = object;
  for (const key of path) template = isObject(template) ? template[key] : undefined;
  if (!isPodLike(template)) return { kind: 'refused', message: `no pod spec with containers at ${['', ...path, 'spec', 'containers'].join('.')}` };
  const result = inject(template, namespaceLabels, settings);
  if (result.kind === 'refused' || path.length === 0) return result;
  const rebuilt = setIn(object, path, result.pod);
  return { ...result, pod: rebuilt as PodLike };
}

/** A copy of `object` with the value at `path` replaced (copies along the path only). */
function setIn(object: Obj, path: readonly string[], value: unknown): Obj {
  const [key, ...rest] = path;
  if (key === undefined) return value as Obj;
  const child = object[key];
  return { ...object, [key]: rest.length === 0 ? value : setIn(isObject(child) ? child : {}, rest, value) };
}
