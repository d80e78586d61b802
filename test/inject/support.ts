/** Helpers of the injection tests: golden cases, Kubernetes schema validation, frozen inputs. */
import { existsSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as k8s from '@kubernetes/client-node';
import { DaemonSet, Deployment, StatefulSet } from 'kubernetes-models/apps/v1';
import { CronJob, Job } from 'kubernetes-models/batch/v1';
import { Pod, Service } from 'kubernetes-models/v1';
import { parse, parseAllDocuments } from 'yaml';
import { expect } from 'vitest';
import { DEFAULT_SETTINGS, type InjectSettings } from '../../src/inject/index.ts';
import { UPDATE } from '../support/golden.ts';

export const TESTDATA = join(dirname(fileURLToPath(import.meta.url)), 'testdata');

export interface InjectCase {
  readonly name: string;
  readonly namespaceLabels: Record<string, string>;
  readonly settings: InjectSettings;
  readonly object: unknown;
}

/** The case names: testdata/<case>.in.yaml. */
export function caseNames(): string[] {
  return readdirSync(TESTDATA)
    .filter((f) => f.endsWith('.in.yaml'))
    .map((f) => f.slice(0, -'.in.yaml'.length))
    .sort();
}

/**
 * A case's input: a first document of options (`namespaceLabels`, `settings` overriding the
 * defaults), then the object to inject.
 */
export function loadCase(name: string): InjectCase {
  const docs = parseAllDocuments(readFileSync(join(TESTDATA, `${name}.in.yaml`), 'utf8'));
  expect(docs.length, `${name}.in.yaml: an options document, then the object`).toBe(2);
  const [options, object] = docs.map((d) => d.toJS() as unknown);
  const o = (options ?? {}) as { namespaceLabels?: Record<string, string>; settings?: Partial<InjectSettings> };
  return { name, namespaceLabels: o.namespaceLabels ?? {}, settings: { ...DEFAULT_SETTINGS, ...o.settings }, object };
}

/** Compares a case's output with testdata/<case>.out.yaml, or writes it with UPDATE_GOLDEN=1. */
export function checkOutput(name: string, text: string): void {
  const path = join(TESTDATA, `${name}.out.yaml`);
  if (UPDATE) {
    writeFileSync(path, text);
    return;
  }
  expect(existsSync(path), `missing golden file ${path} (run UPDATE_GOLDEN=1 and review)`).toBe(true);
  expect(text, `stale golden file ${path} (run UPDATE_GOLDEN=1 and review the diff)`).toBe(readFileSync(path, 'utf8'));
}

/**
 * Compares a case's admission patch with testdata/<case>.patch.json, or writes it with UPDATE_GOLDEN=1.
 * `undefined`: the case has no patch (the pod is skipped or refused), and a file left from before is stale.
 */
export function checkPatch(name: string, patch: readonly unknown[] | undefined): void {
  const path = join(TESTDATA, `${name}.patch.json`);
  if (UPDATE) {
    if (patch) writeFileSync(path, `${JSON.stringify(patch, null, 2)}\n`);
    else rmSync(path, { force: true });
    return;
  }
  if (!patch) {
    expect(existsSync(path), `stale golden file ${path}: the case is not injected, so no patch (run UPDATE_GOLDEN=1)`).toBe(false);
    return;
  }
  expect(existsSync(path), `missing golden file ${path} (run UPDATE_GOLDEN=1 and review)`).toBe(true);
  expect(`${JSON.stringify(patch, null, 2)}\n`, `stale golden file ${path} (run UPDATE_GOLDEN=1 and review the diff)`).toBe(readFileSync(path, 'utf8'));
}

const OUTPUTS = ['.out.yaml', '.patch.json'];

/** Output files without an input (a renamed or removed case). */
export function orphanOutputs(): string[] {
  const cases = new Set(caseNames());
  return readdirSync(TESTDATA)
    .filter((f) => {
      const suffix = OUTPUTS.find((s) => f.endsWith(s));
      return suffix !== undefined && !cases.has(f.slice(0, -suffix.length));
    })
    .sort();
}

type Validatable = { validate(): void };
const MODELS: Readonly<Record<string, (o: never) => Validatable>> = {
  Pod: (o) => new Pod(o),
  Deployment: (o) => new Deployment(o),
  StatefulSet: (o) => new StatefulSet(o),
  DaemonSet: (o) => new DaemonSet(o),
  Job: (o) => new Job(o),
  CronJob: (o) => new CronJob(o),
  Service: (o) => new Service(o),
};

/**
 * The object's errors against the Kubernetes OpenAPI schema of its kind (kubernetes-models: types,
 * required fields, formats), and its unknown fields, which those validators let through; a kind
 * with no model fails.
 */
export function schemaErrors(object: unknown): string[] {
  const kind = (object as { kind?: string }).kind ?? '';
  const model = MODELS[kind];
  if (!model) return [`no schema for kind ${kind}`];
  const unknown = unknownFields(object, `V1${kind}`).map((f) => `unknown field ${f}`);
  try {
    model(object as never).validate();
    return unknown;
  } catch (err) {
    return [(err as Error).message, ...unknown];
  }
}

type Attribute = { readonly baseName: string; readonly type: string };
const CLIENT_MODELS = k8s as unknown as Readonly<Record<string, { readonly attributeTypeMap?: readonly Attribute[] } | undefined>>;

/**
 * The fields of `value` that its type (a model of @kubernetes/client-node, e.g. V1Pod) does not
 * have, as paths; walks the models' attribute maps (arrays, string-keyed maps and nested models).
 */
export function unknownFields(value: unknown, type: string, path = ''): string[] {
  const array = /^Array<(.+)>$/.exec(type);
  if (array) return Array.isArray(value) ? value.flatMap((v, i) => unknownFields(v, array[1] ?? '', `${path}[${i}]`)) : [];
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return [];
  const map = /^\{ \[key: string\]: (.+); \}$/.exec(type);
  if (map) return Object.entries(value).flatMap(([k, v]) => unknownFields(v, map[1] ?? '', `${path}.${k}`));
  const attributes = CLIENT_MODELS[type]?.attributeTypeMap;
  if (!attributes) return [];
  return Object.entries(value).flatMap(([k, v]) => {
    const attribute = attributes.find((a) => a.baseName === k);
    return attribute ? unknownFields(v, attribute.type, `${path}.${k}`) : [`${path}.${k}`];
  });
}

/** A deep-frozen copy: any mutation of it throws in strict mode. */
export function frozen<T>(value: T): T {
  const copy = structuredClone(value);
  const freeze = (v: unknown): void => {
    if (typeof v !== 'object' || v === null) return;
    Object.freeze(v);
    for (const child of Object.values(v)) freeze(child);
  };
  freeze(copy);
  return copy;
}

/** The bootstraps (--config-yaml) of the trellis-proxy containers anywhere in an object, parsed. */
export function proxyBootstraps(object: unknown): Record<string, unknown>[] {
  if (Array.isArray(object)) return object.flatMap(proxyBootstraps);
  if (typeof object !== 'object' || object === null) return [];
  const o = object as { name?: unknown; args?: unknown };
  if (o.name === 'trellis-proxy' && Array.isArray(o.args)) {
    const i = o.args.indexOf('--config-yaml');
    return [parse(String(o.args[i + 1])) as Record<string, unknown>];
  }
  return Object.values(object).flatMap(proxyBootstraps);
}
