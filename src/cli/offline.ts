/**
 * The commands that read manifests once, without a cluster: `trellis validate` (what is wrong, and
 * each TrafficPolicy's status) and `trellis render` (what one proxy would receive). Text for
 * people, or one JSON document with `-o json` (report.ts).
 */
import type { RenderConfig, ValidateConfig } from '../config/config.js';
import { buildModel, type ModelOptions } from '../model/build.js';
import { diagnostic, formatDiagnostic, sortDiagnostics, type Diagnostic } from '../diagnostics.js';
import type { MeshModel } from '../model/types.js';
import { formatPolicyStatus, policyStatuses } from '../model/policy-status.js';
import { locateProblems, manifestProblems, parseManifests, readManifestDir, readManifestPaths, type ManifestFile } from '../sources/manifests/index.js';
import { closest } from '../suggest.js';
import { describeNode, type ProxyDescriptor } from '../translate/proxy.js';
import { renderTranslation } from '../translate/render.js';
import { translate } from '../translate/translate.js';
import { jsonText, renderJson, validateJson } from './report.js';

/** Where a command writes, and what it reads for `-`. */
export interface CommandIO {
  out(text: string): void;
  err(text: string): void;
  readStdin(): Promise<string>;
}

/** What the model is built with offline: `mtls` as `serve --issuer --mtls-mode` would (STRICT, PERMISSIVE), or `off` as without --issuer. */
type OfflineOptions = Pick<ModelOptions, 'domain' | 'trustDomain'> & { readonly mtls: 'STRICT' | 'PERMISSIVE' | 'off' };

/** The model of the files, and every problem found on the way (sorted, with line and column where known). */
function check(files: readonly ManifestFile[], options: OfflineOptions): { model: MeshModel; problems: Diagnostic[] } {
  const result = parseManifests(files);
  const mtls = options.mtls === 'off' ? {} : { mtls: { enabled: true, defaultMode: options.mtls } };
  const model = buildModel(result.inputs, { domain: options.domain, trustDomain: options.trustDomain, ...mtls });
  return { model, problems: sortDiagnostics(locateProblems([...manifestProblems(result), ...model.diagnostics], files)) };
}

function lines(list: readonly string[]): string {
  return list.map((l) => `${l}\n`).join('');
}

/** `trellis validate`: every problem and each TrafficPolicy's status; 1 when there is an error. */
export async function runValidate(config: ValidateConfig, io: CommandIO): Promise<number> {
  const files = [
    ...(config.manifests === undefined ? [] : await readManifestDir(config.manifests)),
    ...(await readManifestPaths(config.paths, () => io.readStdin())),
  ];
  const { model, problems } = check(files, config);
  const report = validateJson(problems, policyStatuses(model.policies));
  if (config.output === 'json') io.out(jsonText(report));
  else
    io.out(
      lines([
        ...problems.map(formatDiagnostic),
        ...report.policies.flatMap(formatPolicyStatus),
        `${report.counts.errors} error(s), ${report.counts.warnings} warning(s)`,
      ]),
    );
  return report.counts.errors > 0 ? 1 : 0;
}

/**
 * A sidecar's pod must be a workload of the model (a Pod with an IP): else the error names the
 * closest ones. A proxyless application needs none.
 */
export function missingWorkload(model: MeshModel, proxy: ProxyDescriptor): Diagnostic | undefined {
  if (proxy.mode !== 'sidecar') return undefined;
  const wanted = `${proxy.namespace}/${proxy.pod ?? ''}`;
  const workloads = model.workloads.map((w) => `${w.namespace}/${w.name}`);
  if (workloads.includes(wanted)) return undefined;
  const near = closest(wanted, workloads, 3);
  const hint = near.length > 0 ? `closest: ${near.join(', ')}` : 'the manifests have no workloads (Pods with an IP)';
  return diagnostic('error', undefined, undefined, `no workload ${wanted}; ${hint}`);
}

/** `trellis render`: the resources one proxy would receive; 1 when the manifests have errors, the proxy is unknown or translation fails. */
export async function runRender(config: RenderConfig, io: CommandIO): Promise<number> {
  const { model, problems } = check(await readManifestDir(config.manifests), config);
  const locality =
    config.region || config.zone ? { locality: { ...(config.region ? { region: config.region } : {}), ...(config.zone ? { zone: config.zone } : {}) } } : {};
  const proxy = describeNode({ id: config.proxy, cluster: '', metadata: { PROXY_MODE: config.mode }, userAgent: '', ...locality });
  const errors = problems.filter((p) => p.severity === 'error');
  const missing = errors.length === 0 ? missingWorkload(model, proxy) : undefined;
  if (errors.length > 0 || missing) {
    const fatal = missing ? [...problems, missing] : problems;
    if (config.output === 'json') io.out(jsonText(renderJson(fatal)));
    else io.err(lines(fatal.filter((p) => p.severity === 'error').map(formatDiagnostic)));
    return 1;
  }
  const translation = translate(model, proxy);
  const translated = translation.diagnostics;
  if (config.output === 'json') io.out(jsonText(renderJson([...problems, ...translated], translation)));
  else {
    io.err(lines(translated.map(formatDiagnostic)));
    io.out(renderTranslation(translation));
  }
  return translated.some((e) => e.severity === 'error') ? 1 : 0;
}
