/**
 * The chart tests' helpers: Helm (the binary test/support/tools/fetch-helm.ts puts in .tools/; a missing one fails
 * the test, never skips it), the values cases (the defaults and every helm/trellis/ci/*.yaml), and the rendered
 * objects.
 */
import { execFile } from 'node:child_process';
import { accessSync, constants, readdirSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { parseAllDocuments } from 'yaml';
import { HELM_PATH } from '../support/tools/fetch-helm.ts';

export const REPO = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
export const CHART = join(REPO, 'helm/trellis');
export const KUBE_VERSIONS = ['1.29.0', '1.33.0'] as const;
export const RELEASE = 'trellis';
export const NAMESPACE = 'trellis-system';

const execFileP = promisify(execFile);

/** helm's path, or a clear failure. */
export function helmBinary(): string {
  try {
    accessSync(HELM_PATH, constants.X_OK);
  } catch {
    throw new Error(`no helm at ${HELM_PATH}: run \`npx tsx test/support/tools/fetch-helm.ts\` (npm test runs it first, as its pretest script)`);
  }
  return HELM_PATH;
}

export interface HelmResult {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

/** Runs helm; a non-zero exit is a result, not a throw. */
export async function helm(...args: string[]): Promise<HelmResult> {
  const bin = helmBinary();
  try {
    const { stdout, stderr } = await execFileP(bin, args, { cwd: REPO, maxBuffer: 64 * 1024 * 1024, timeout: 60_000, env: helmEnv() });
    return { code: 0, stdout, stderr };
  } catch (e) {
    const err = e as { code?: number | string; stdout?: string; stderr?: string; message: string };
    if (typeof err.code !== 'number') throw e;
    return { code: err.code, stdout: err.stdout ?? '', stderr: err.stderr ?? err.message };
  }
}

/** Helm's caches and config in a throwaway place, never the user's (~/.config/helm, ~/.cache/helm). */
function helmEnv(): NodeJS.ProcessEnv {
  const home = join(REPO, '.tools/helm-home');
  return { ...process.env, HELM_CACHE_HOME: join(home, 'cache'), HELM_CONFIG_HOME: join(home, 'config'), HELM_DATA_HOME: join(home, 'data') };
}

/** A values case: the chart's defaults, or a file of helm/trellis/ci/. */
export interface ValuesCase {
  readonly name: string;
  /** `-f` arguments. */
  readonly args: readonly string[];
}

export function valuesCases(): ValuesCase[] {
  const files = readdirSync(join(CHART, 'ci'))
    .filter((f) => f.endsWith('.yaml'))
    .sort();
  return [{ name: 'defaults', args: [] }, ...files.map((f) => ({ name: `ci/${f}`, args: ['-f', join(CHART, 'ci', f)] }))];
}

/** Every case at every Kubernetes version, for it.each. */
export function renderCases(): { name: string; args: readonly string[]; kubeVersion: string }[] {
  return valuesCases().flatMap((c) => KUBE_VERSIONS.map((kubeVersion) => ({ ...c, kubeVersion, name: `${c.name} @ ${kubeVersion}` })));
}

/** `helm template`'s text; a failure throws with helm's message. */
export async function templateText(args: readonly string[], kubeVersion: string = KUBE_VERSIONS[0], namespace = NAMESPACE): Promise<string> {
  const r = await helm('template', RELEASE, CHART, '--namespace', namespace, '--kube-version', kubeVersion, ...args);
  if (r.code !== 0) throw new Error(`helm template ${args.join(' ')} failed (${r.code}): ${r.stderr}`);
  return r.stdout;
}

export interface KubeObject {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; labels?: Record<string, string>; annotations?: Record<string, string> };
  [key: string]: unknown;
}

/** The rendered objects, in order. */
export function parseObjects(text: string): KubeObject[] {
  return parseAllDocuments(text)
    .map((d) => {
      if (d.errors.length > 0) throw new Error(`rendered YAML does not parse: ${d.errors.map((e) => e.message).join('; ')}`);
      return d.toJS() as KubeObject | null;
    })
    .filter((o): o is KubeObject => o !== null);
}

export async function render(args: readonly string[] = [], kubeVersion: string = KUBE_VERSIONS[0], namespace = NAMESPACE): Promise<KubeObject[]> {
  return parseObjects(await templateText(args, kubeVersion, namespace));
}

/** The one object of this kind and name; fails when there is none or more. */
export function one(objects: readonly KubeObject[], kind: string, name?: string): KubeObject {
  const found = objects.filter((o) => o.kind === kind && (name === undefined || o.metadata.name === name));
  if (found.length !== 1) throw new Error(`expected one ${kind}${name ? ` ${name}` : ''}, found ${found.length}`);
  return found[0] as KubeObject;
}
