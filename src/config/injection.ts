/**
 * The zod types of the injection webhook's flags that are more than a string: an image reference and
 * the sidecar's resources as JSON (`{"requests": {...}, "limits": {...}}` of Kubernetes quantities).
 */
import { z } from 'zod';
import type { Resources } from '../inject/settings.js';

const component = '[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*';
const domain = '[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?(?:\\.[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?)*(?::\\d+)?';
/** `[registry[:port]/]path[:tag][@sha256:digest]`, the grammar of container image references. */
export const imageRef = z
  .string()
  .regex(
    new RegExp(`^(?:${domain}/)?${component}(?:/${component})*(?::[\\w][\\w.-]{0,127})?(?:@sha256:[a-f0-9]{64})?$`),
    'expected an image reference such as envoyproxy/envoy:v1.34.1 or registry.example.com/envoy@sha256:<digest>',
  );

const SUFFIXES: Readonly<Record<string, number>> = {
  Ki: 2 ** 10,
  Mi: 2 ** 20,
  Gi: 2 ** 30,
  Ti: 2 ** 40,
  Pi: 2 ** 50,
  Ei: 2 ** 60,
  n: 1e-9,
  u: 1e-6,
  m: 1e-3,
  '': 1,
  k: 1e3,
  M: 1e6,
  G: 1e9,
  T: 1e12,
  P: 1e15,
  E: 1e18,
};
/** A Kubernetes quantity, as its API server reads one (Go's regexp can check it too: the chart's values schema uses it). */
export const QUANTITY = /^\+?(\d+(?:\.\d*)?|\.\d+)(Ki|Mi|Gi|Ti|Pi|Ei|n|u|m|k|M|G|T|P|E|[eE][+-]?\d+)?$/;

/** A Kubernetes quantity's value ("100m" → 0.1, "1Gi" → 1073741824), or undefined when it is not one. */
export function quantityValue(text: string): number | undefined {
  const m = QUANTITY.exec(text);
  if (!m) return undefined;
  const suffix = m[2] ?? '';
  const scale = /^[eE]/.test(suffix) ? 10 ** Number(suffix.slice(1)) : SUFFIXES[suffix];
  return scale === undefined ? undefined : Number(m[1]) * scale;
}

const resourceName = z.string().regex(/^([a-z0-9.-]+\/)?[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$/, 'is not a resource name');
const quantities = z.record(
  resourceName,
  z.string().refine((q) => quantityValue(q) !== undefined, 'is not a Kubernetes quantity (such as 100m, 0.5, 128Mi or 1G)'),
);
const resourcesShape = z.strictObject({ requests: quantities.optional(), limits: quantities.optional() });

/** `{"requests": {"cpu": "100m"}, "limits": {"memory": "1Gi"}}`; each problem in one line with where it is. */
export const proxyResources = z.string().transform((text, ctx): Resources => {
  const fail = (message: string): never => {
    ctx.addIssue({ code: 'custom', message });
    return z.NEVER;
  };
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (err) {
    return fail(`not JSON (${(err as Error).message}); expected {"requests": {"cpu": "100m"}, "limits": {"memory": "1Gi"}}`);
  }
  const parsed = resourcesShape.safeParse(json);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const where = issue?.path.map(String).join('.') ?? '';
    const what = issue?.code === 'unrecognized_keys' ? `unknown field(s) ${issue.keys.join(', ')}: only requests and limits` : (issue?.message ?? 'invalid');
    return fail(`${where ? `${where} ` : ''}${what}; expected {"requests": {"cpu": "100m"}, "limits": {"memory": "1Gi"}}`);
  }
  const { requests, limits } = parsed.data;
  for (const [name, request] of Object.entries(requests ?? {})) {
    const limit = limits?.[name];
    if (limit !== undefined && (quantityValue(request) ?? 0) > (quantityValue(limit) ?? 0)) {
      return fail(`requests.${name} ${request} is more than limits.${name} ${limit}: the API server would refuse every injected Pod`);
    }
  }
  return { ...(requests ? { requests } : {}), ...(limits ? { limits } : {}) };
});
