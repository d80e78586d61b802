/**
 * buildModel: MeshInputs → MeshModel. Validates and resolves references (EndpointSlices to their
 * Service, endpoints to the Nodes they run on, Services to the Pods they select) and records what
 * it found wrong, per object and field. One bad object never blocks the others: it is left out, or
 * kept without the bad part.
 *
 * A build costs what changed since the last one: each step that works on one Service or one Pod is
 * remembered (model/memo.ts) by the model it built, and the next build, given that model as
 * `previous`, uses a step's last result again, the very same object, when what the step reads is the
 * same. An entry that is built anew and equals the previous model's entry of its key is that entry
 * (share.ts): sharing is exactly as strong as comparing every entry, for what changed only.
 */
import { Diagnostics, compareText, refOf, sortDiagnostics } from '../diagnostics.js';
import { SERVICE_NAME_LABEL, type EndpointSliceObject, type Input, type MeshInputs, type NodeObject, type PodObject, type ServiceObject } from './inputs.js';
import { nodeLocalities, type NodeLocalities } from './endpoints.js';
import { GroupMemo, InputList, ItemsMemo, StepMemo, pushOrigin, type ItemStep, type Remembered } from './memo.js';
import { meshPods, serviceIdentities, withIdentities, withPortModes } from './mtls.js';
import { DEFAULT_MODEL_OPTIONS, mtlsSettings, type ModelOptions } from './options.js';
import { resolvePolicies, withPolicies } from './policies.js';
import { buildService, serviceInputs, slicesByService, type ServiceContext } from './services.js';
import { shareOne } from './share.js';
import type { MeshModel, ModelService, ModelWorkload } from './types.js';
import { buildWorkload, namespaceSelectors, selecting, workloadInputs } from './workloads.js';
import { missingServices, missingServicesMessage, REACHABLE_FIELD } from './reachable.js';

export { DEFAULT_MODEL_OPTIONS, type ModelOptions };

const keyOf = (meta: { readonly namespace: string; readonly name: string }): string => `${meta.namespace}/${meta.name}`;

/** A list of inputs sorted by `namespace/name` (stable), with their keys; the same as last time for the same list. */
interface Sorted<T> {
  readonly list: readonly Input<T>[];
  readonly sorted: readonly { readonly key: string; readonly input: Input<T> }[];
  readonly keys: ReadonlySet<string>;
  readonly namespaces: readonly { readonly namespace: string; readonly items: readonly Sorted<T>['sorted'][number][] }[];
}

function sortedByKey<T extends { metadata: { namespace: string; name: string } }>(list: readonly Input<T>[], last: Sorted<T> | undefined): Sorted<T> {
  if (last?.list === list) return last;
  const sorted = list.map((input) => ({ key: keyOf(input.object.metadata), input }));
  sorted.sort((a, b) => compareText(a.key, b.key));
  const namespaces = byNamespace(sorted, (e) => e.input.object.metadata.namespace);
  return { list, sorted, keys: new Set(sorted.map((e) => e.key)), namespaces };
}

/** The pods sorted, the labels of each (`namespace/name`) and, with mTLS, those in the mesh; the same as last time for the same list. */
interface PodIndex extends Sorted<PodObject> {
  readonly labels: ReadonlyMap<string, Readonly<Record<string, string>>>;
  readonly mesh: ReadonlySet<string>;
  readonly mtls: boolean;
}

function podIndex(list: readonly Input<PodObject>[], mtls: MeshModel['mtls'], last: PodIndex | undefined): PodIndex {
  if (last?.list === list && last.mtls === (mtls !== undefined)) return last;
  const labels = new Map(list.map((p) => [keyOf(p.object.metadata), p.object.metadata.labels]));
  const mesh = meshPods(labels, mtls);
  // The same pods in the mesh: the very Set of the last build, which the Services' steps compare by identity.
  const same = last !== undefined && last.mesh.size === mesh.size && [...mesh].every((pod) => last.mesh.has(pod));
  return { ...sortedByKey(list, last), labels, mesh: same ? last.mesh : mesh, mtls: mtls !== undefined };
}

/** A sorted list in runs of one namespace each (sorting by `namespace/name` keeps a namespace's together). */
function byNamespace<T>(sorted: readonly T[], namespaceOf: (item: T) => string): { namespace: string; items: T[] }[] {
  const runs: { namespace: string; items: T[] }[] = [];
  let run: { namespace: string; items: T[] } | undefined;
  for (const item of sorted) {
    const namespace = namespaceOf(item);
    if (run?.namespace !== namespace) {
      run = { namespace, items: [] };
      runs.push(run);
    }
    run.items.push(item);
  }
  return runs;
}

type Entry<T> = Sorted<T>['sorted'][number];

/** The nodes' localities, and the Node objects they were read from. */
interface Localities {
  readonly objects: readonly NodeObject[];
  readonly localities: NodeLocalities;
}

/** The localities of `nodes`: the last build's very Map while the Node objects are the same. */
function localitiesOf(nodes: readonly Input<NodeObject>[], last: Localities | undefined): Localities {
  const objects = nodes.map((n) => n.object);
  if (last !== undefined && last.objects.length === objects.length && last.objects.every((o, i) => o === objects[i])) return last;
  return { objects, localities: nodeLocalities(nodes) };
}

/** What the Pods of a namespace remember: the selectors they were matched against, which services select each, each one's workload. */
interface PodsMemo {
  readonly selectors: string;
  readonly selected: Remembered<readonly string[]>;
  readonly workloads: Remembered<ModelWorkload | undefined>;
}

/** What a build remembers for the next one; held by the model it built, and by nothing else. */
interface Remembrance {
  readonly nodes: Localities;
  readonly services: Sorted<ServiceObject>;
  readonly pods: PodIndex;
  readonly built: ItemsMemo<ModelService | undefined>['remembered'];
  readonly secured: ItemsMemo<ModelService>['remembered'];
  readonly shared: ItemsMemo<ModelService>['remembered'];
  readonly workloads: GroupMemo<ModelWorkload | undefined, PodsMemo>['remembered'];
  readonly reaches: StepMemo<null>['remembered'];
}

const remembrances = new WeakMap<MeshModel, Remembrance>();

/** The remembered steps of one build, each starting from the last build's; each works a namespace at a time. */
class Steps {
  /** The Services as their slices make them (services.ts). */
  readonly built: ItemsMemo<ModelService | undefined>;
  /** With their ports' mTLS modes (mtls.ts), after their policies are attached. */
  readonly secured: ItemsMemo<ModelService>;
  /** With their identities, as they go in the model (shared with the previous model's). */
  readonly shared: ItemsMemo<ModelService>;
  /** The Pods' workloads, as they go in the model (shared with the previous model's). */
  readonly workloads: GroupMemo<ModelWorkload | undefined, PodsMemo>;
  /** The reaches naming Services that do not exist, per namespace (what it reports is all it makes). */
  readonly reaches: StepMemo<null>;

  constructor(last: Remembrance | undefined) {
    this.built = new ItemsMemo(last?.built);
    this.secured = new ItemsMemo(last?.secured);
    this.shared = new ItemsMemo(last?.shared);
    this.workloads = new GroupMemo(last?.workloads);
    this.reaches = new StepMemo(last?.reaches);
  }

  remembrance(nodes: Localities, services: Sorted<ServiceObject>, pods: PodIndex): Remembrance {
    const { built, secured, shared, workloads, reaches } = this;
    return {
      nodes,
      services,
      pods,
      built: built.remembered,
      secured: secured.remembered,
      shared: shared.remembered,
      workloads: workloads.remembered,
      reaches: reaches.remembered,
    };
  }
}

/**
 * The previous model's entry of a key, for a model that was not built here (nothing remembered: the
 * entry of its list); for one built here, what its step remembered says it already.
 */
function previousEntries<T extends { namespace: string; name: string }>(remembered: boolean, list: readonly T[] | undefined): (key: string) => T | undefined {
  if (remembered || list === undefined) return () => undefined;
  let byKey: Map<string, T> | undefined;
  return (key) => (byKey ??= new Map(list.map((e) => [keyOf(e), e]))).get(key);
}

/** What the steps of one build share: the options, the statuses, the steps and the previous model's entries. */
interface Build {
  readonly opts: ModelOptions;
  readonly mtls: MeshModel['mtls'];
  readonly statuses: Diagnostics;
  readonly steps: Steps;
  readonly previousService: (key: string) => ModelService | undefined;
  readonly previousWorkload: (key: string) => ModelWorkload | undefined;
}

/**
 * What a namespace's Services step reads, telling as much as every item's inputs (serviceInputs)
 * at a fraction of their length: the nodes' localities and the pods in the mesh by identity (each
 * made anew only when what it is made of changed), so that each slice's endpoints need not be
 * listed; an endpoint change then costs the Services of its namespace a comparison each.
 */
function groupInputs(
  items: readonly Entry<ServiceObject>[],
  slices: ReadonlyMap<string, readonly Input<EndpointSliceObject>[]>,
  { nodes, meshPods }: Pick<ServiceContext, 'nodes' | 'meshPods'>,
  domain: string,
  last: readonly unknown[] | undefined,
): readonly unknown[] {
  const inputs = new InputList(last);
  for (const v of [domain, nodes, meshPods, items.length]) inputs.push(v);
  for (const { key, input } of items) {
    inputs.push(input.object);
    pushOrigin(inputs, input.origin);
    const own = slices.get(key) ?? [];
    inputs.push(own.length);
    for (const slice of own) {
      inputs.push(slice.object);
      pushOrigin(inputs, slice.origin);
    }
  }
  return inputs.list();
}

/** Every Service built from its slices, sorted; the slices of no Service reported. */
function buildServices(
  services: Sorted<ServiceObject>,
  slices: ReadonlyMap<string, readonly Input<EndpointSliceObject>[]>,
  context: Pick<ServiceContext, 'nodes' | 'meshPods'>,
  { opts, statuses, steps }: Build,
): ModelService[] {
  const step: ItemStep<Entry<ServiceObject>, ModelService | undefined> = {
    key: (e) => e.key,
    inputs: (e, inputs) => {
      inputs.push(opts.domain);
      serviceInputs(e.input, slices.get(e.key) ?? [], context, inputs);
    },
    compute: (e, sink) => buildService(e.input, { ...context, slices: slices.get(e.key) ?? [], opts, statuses: sink }),
  };
  const built: ModelService[] = [];
  for (const { namespace, items } of services.namespaces) {
    for (const service of steps.built.run(
      namespace,
      groupInputs(items, slices, context, opts.domain, steps.built.lastInputs(namespace)),
      items,
      step,
      statuses,
    ))
      if (service) built.push(service);
  }
  for (const [key, list] of slices) {
    if (services.keys.has(key)) continue;
    for (const slice of list) {
      statuses.warn(
        refOf('EndpointSlice', slice.object.metadata),
        slice.origin,
        `metadata.labels["${SERVICE_NAME_LABEL}"]`,
        `Service ${key} does not exist; the slice is ignored until it does`,
      );
    }
  }
  return built;
}

/** The services with their ports' mTLS modes. */
function secureServices(services: readonly ModelService[], { mtls, statuses, steps }: Build): ModelService[] {
  const step: ItemStep<ModelService, ModelService> = {
    key: keyOf,
    inputs: (s, inputs) => inputs.push(mtls?.defaultMode, s),
    // A service with a policy is attached anew at every build: the same content is the last object, so that what reads it need not change.
    compute: (s, sink, last) => shareOne(withPortModes(s, mtls, sink), last),
  };
  return byNamespace(services, (s) => s.namespace).flatMap(({ namespace, items }) =>
    steps.secured.run(namespace, ItemsMemo.inputsOf(items, step), items, step, statuses),
  );
}

/** The workloads of one namespace's Pods (undefined for one without an IP), given the namespace's services. */
function namespaceWorkloads(
  pods: readonly Entry<PodObject>[],
  services: readonly ModelService[],
  last: PodsMemo | undefined,
  sink: Diagnostics,
  build: Build,
): { results: (ModelWorkload | undefined)[]; inner: PodsMemo } {
  const { opts, previousWorkload } = build;
  const selectors = namespaceSelectors(services);
  const text = JSON.stringify(selectors);
  const token = last?.selectors === text ? last.selectors : text;
  const byKey = new Map(services.map((s) => [keyOf(s), s]));
  const selection = new StepMemo<readonly string[]>(last?.selected);
  const memo = new StepMemo<ModelWorkload | undefined>(last?.workloads);
  const results = pods.map(({ key, input: pod }) => {
    const keys = selection.run(key, [pod.object, token], sink, () => selecting(selectors, pod.object));
    const selected = keys.flatMap((k) => byKey.get(k) ?? []);
    const inputs: unknown[] = [opts.trustDomain, build.mtls?.defaultMode];
    workloadInputs(pod, selected, inputs);
    return memo.run(key, inputs, sink, (local) => {
      const made = buildWorkload(pod, selected, opts, local);
      return made && shareOne(made, memo.lastResult(key) ?? previousWorkload(key));
    });
  });
  return { results, inner: { selectors: token, selected: selection.remembered, workloads: memo.remembered } };
}

/** Every Pod's workload (undefined for one without an IP), sorted, by namespace. */
function buildWorkloads(pods: PodIndex, services: readonly ModelService[], build: Build): Map<string, readonly (ModelWorkload | undefined)[]> {
  const { opts, mtls, statuses, steps } = build;
  const servicesOf = new Map(byNamespace(services, (s) => s.namespace).map((r) => [r.namespace, r.items]));
  const out = new Map<string, readonly (ModelWorkload | undefined)[]>();
  for (const { namespace, items } of pods.namespaces) {
    const own = servicesOf.get(namespace) ?? [];
    const inputs = new InputList(steps.workloads.lastInputs(namespace));
    inputs.push(opts.trustDomain);
    inputs.push(mtls?.defaultMode);
    inputs.push(own.length);
    for (const s of own) inputs.push(s);
    for (const { input } of items) {
      inputs.push(input.object);
      pushOrigin(inputs, input.origin);
    }
    out.set(
      namespace,
      steps.workloads.run(namespace, inputs.list(), statuses, (last, sink) => namespaceWorkloads(items, own, last, sink, build)),
    );
  }
  return out;
}

/**
 * The services as they go in the model: with their identities (mTLS), each shared with the previous
 * model's when the same. A namespace's services' identities are those of its workloads and of the
 * workloads behind their endpoints in other namespaces (rare).
 */
function finalServices(
  secured: readonly ModelService[],
  workloads: ReadonlyMap<string, readonly (ModelWorkload | undefined)[]>,
  { mtls, statuses, steps, previousService }: Build,
): ModelService[] {
  let everyPod: Map<string, ModelWorkload> | undefined;
  const podsElsewhere = () => (everyPod ??= new Map([...workloads.values()].flat().flatMap((w) => (w ? [[keyOf(w), w] as const] : []))));
  return byNamespace(secured, (s) => s.namespace).flatMap(({ namespace, items }) => {
    const own = workloads.get(namespace) ?? [];
    const outside = mtls
      ? items.flatMap((s) => s.ports.flatMap((p) => p.endpoints.flatMap((e) => (e.pod && !e.pod.startsWith(`${namespace}/`) ? [e.pod] : []))))
      : [];
    const behind = outside.map((pod) => podsElsewhere().get(pod));
    let identities: ((s: ModelService) => string[] | undefined) | undefined;
    const idsOf = (s: ModelService) => (mtls ? (identities ??= serviceIdentities([...own, ...behind].flatMap((w) => w ?? [])))(s) : undefined);
    const step: ItemStep<ModelService, ModelService> = {
      key: keyOf,
      inputs: (s, inputs) => inputs.push(s, idsOf(s)?.join(' ')),
      compute: (s, _sink, last) => shareOne(withIdentities(s, idsOf(s)), last ?? previousService(keyOf(s))),
    };
    const inputs = [mtls ? own : undefined, ...behind.map((w) => w?.identity), items.length, ...items];
    return steps.shared.run(namespace, inputs, items, step, statuses);
  });
}

/** The keys of a list's Services in one string, made once per list: equal strings, the same Services. */
const serviceNames = new WeakMap<Sorted<ServiceObject>, string>();

/**
 * Warns on each Pod whose reach (model/reachable.ts) names a Service the sources do not have. Per
 * namespace, worked out again only when the names of the Services or the namespace's workloads
 * changed (its workloads step made them anew): an endpoint change costs a look-up per namespace.
 */
function checkReaches(
  pods: PodIndex,
  workloads: ReadonlyMap<string, readonly (ModelWorkload | undefined)[]>,
  services: Sorted<ServiceObject>,
  build: Build,
): void {
  const { statuses, steps } = build;
  let names = serviceNames.get(services);
  if (names === undefined) {
    names = services.sorted.map((e) => e.key).join(' ');
    serviceNames.set(services, names);
  }
  for (const { namespace, items } of pods.namespaces) {
    const made = workloads.get(namespace) ?? [];
    steps.reaches.run(namespace, [names, made], statuses, (sink) => {
      made.forEach((workload, i) => {
        const pod = items[i]?.input;
        if (!workload?.reachable || !pod) return;
        const missing = missingServices(workload.reachable, services.keys);
        if (missing.length > 0) sink.warn(workload.source, pod.origin, REACHABLE_FIELD, missingServicesMessage(missing));
      });
      return null;
    });
  }
}

/**
 * `previous`, the model built before this one, lets a TrafficPolicy whose new spec is invalid keep
 * its last good spec in force; every service and workload the same as in it is its very object
 * (share.ts); and what did not change since is not built again.
 */
export function buildModel(inputs: MeshInputs, opts: ModelOptions = DEFAULT_MODEL_OPTIONS, previous?: MeshModel): MeshModel {
  const last = previous && remembrances.get(previous);
  const steps = new Steps(last);
  const statuses = new Diagnostics();
  const mtls = mtlsSettings(opts);
  const build: Build = {
    opts,
    mtls,
    statuses,
    steps,
    previousService: previousEntries(last !== undefined, previous?.services),
    previousWorkload: previousEntries(last !== undefined, previous?.workloads),
  };
  const slices = slicesByService(inputs, statuses);
  const pods = podIndex(inputs.pods, mtls, last?.pods);
  const services = sortedByKey(inputs.services, last?.services);
  const nodes = localitiesOf(inputs.nodes, last?.nodes);
  const built = buildServices(services, slices, { nodes: nodes.localities, meshPods: pods.mesh }, build);
  const resolution = resolvePolicies(inputs.trafficPolicies, built, previous, statuses, {
    podLabels: pods.labels,
    trustDomain: opts.trustDomain,
    ...(mtls ? { mtls } : {}),
  });
  const secured = secureServices(withPolicies(built, resolution), build);
  const workloads = buildWorkloads(pods, secured, build);
  const final = finalServices(secured, workloads, build);
  checkReaches(pods, workloads, services, build);
  const model: MeshModel = {
    domain: opts.domain,
    trustDomain: opts.trustDomain,
    ...(mtls ? { mtls } : {}),
    services: final,
    workloads: [...workloads.values()].flat().filter((w) => w !== undefined),
    policies: resolution.policies,
    diagnostics: sortDiagnostics(statuses.list),
  };
  remembrances.set(model, steps.remembrance(nodes, services, pods));
  return model;
}
