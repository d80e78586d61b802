/**
 * The debug endpoints: each one a function from the request's URL (and headers) to a reply, with no
 * I/O of its own beyond reading the views it was given. server.ts does the HTTP.
 */
import { formatDiagnostic, sortDiagnostics, type Diagnostic } from '../diagnostics.js';
import { formatPolicyStatus, type PolicyStatusView } from '../model/policy-status.js';
import { SUBSCRIBED_LISTED, type XdsIntrospection } from '../xds/status.js';
import type { CertzView } from '../certs/view.js';
import { buildConfigDump } from './config-dump.js';
import { certzHeadline, formatCertzText } from './certz.js';
import type { Metrics } from './metrics.js';
import { buildResources } from './resources.js';
import type { ServicesResponse } from './services.js';
import { buildSyncz, type ReachOf } from './syncz.js';
import { escapeControl, formatIndexText, formatSynczText } from './text.js';
import { UI_HEADERS, UI_PATH, type UiAsset } from './ui.js';

export interface Reply {
  readonly status: number;
  readonly contentType: string;
  readonly body: string;
  readonly headers?: Readonly<Record<string, string>>;
}

export interface DebugRequest {
  readonly url: URL;
  /** The Accept header, '' when absent. */
  readonly accept: string;
}

export interface Route {
  readonly path: string;
  /** How to call it, for the index (the path with its parameters). */
  readonly usage: string;
  readonly description: string;
  /** Expensive to build: the server caches its replies for a moment and caps their size. */
  readonly heavy?: boolean;
  /** Not in the index (the files of the UI). */
  readonly unlisted?: boolean;
  /** An event stream: server.ts answers it itself, holding the connection open; `handle` is not called. */
  readonly stream?: boolean;
  handle(req: DebugRequest): Reply | Promise<Reply>;
}

export interface RouteDeps {
  readonly introspection: XdsIntrospection;
  readonly readiness: () => { ready: boolean; reason: string };
  readonly metrics: Metrics;
  /** Everything wrong with the configuration now, from every stage. */
  readonly problems: () => readonly Diagnostic[];
  /** Every TrafficPolicy with its conditions (Accepted, Conflicted, Programmed). */
  readonly policies: () => readonly PolicyStatusView[];
  /** Workload certificates, or why there are none. */
  readonly certificates: () => CertzView;
  /** The other servers of this process, one line each (the admission webhook, say). */
  readonly servers: () => readonly string[];
  /** Every Service with its endpoints by locality and the policies on each port. */
  readonly services: () => ServicesResponse;
  /** What a sidecar class is scoped to (its pod's reach), for /debug/syncz. */
  readonly reach: ReachOf;
  /** The files of /debug/ui, or why they could not be read. */
  readonly ui: readonly UiAsset[] | Error;
}

const TEXT = 'text/plain; charset=utf-8';
const JSON_TYPE = 'application/json; charset=utf-8';

export function text(status: number, body: string): Reply {
  return { status, contentType: TEXT, body: body.endsWith('\n') ? body : `${body}\n` };
}

export function json(status: number, value: unknown): Reply {
  return { status, contentType: JSON_TYPE, body: `${JSON.stringify(value, null, 2)}\n` };
}

function wantsJson(req: DebugRequest): boolean {
  const format = req.url.searchParams.get('format');
  if (format !== null) return format === 'json';
  return req.accept.includes('application/json');
}

function connectedIds(introspection: XdsIntrospection): string[] {
  return [...new Set(introspection.proxies().map((p) => p.proxyId))].sort();
}

function configDump(deps: RouteDeps, req: DebugRequest): Reply {
  const proxy = req.url.searchParams.get('proxy');
  if (proxy === null || proxy === '') {
    const ids = connectedIds(deps.introspection);
    const list = ids.length === 0 ? '(none)' : ids.map(escapeControl).join(', ');
    return text(400, `missing ?proxy=ID; connected proxies: ${list}`);
  }
  const held = deps.introspection.heldResources(proxy);
  if (held === undefined) return notConnected(proxy);
  return json(200, buildConfigDump(held));
}

function resources(deps: RouteDeps, req: DebugRequest): Reply {
  const proxy = req.url.searchParams.get('proxy');
  if (proxy === null || proxy === '') return text(400, 'missing ?proxy=ID; see /debug/syncz for the connected proxies');
  const held = deps.introspection.heldResources(proxy);
  if (held === undefined) return notConnected(proxy);
  return json(200, buildResources(proxy, held));
}

/** The UI's routes: index.html at /debug/ui, each other file under it; a 500 naming the problem when the files did not load. */
function uiRoutes(ui: readonly UiAsset[] | Error): Route[] {
  const description = 'the debug view in a browser: proxies, NACKs, policies, problems, services, certificates, live';
  if (ui instanceof Error) return [{ path: UI_PATH, usage: UI_PATH, description, handle: () => text(500, ui.message) }];
  return ui.map((a) => ({
    path: a.path,
    usage: a.path,
    description,
    unlisted: a.path !== UI_PATH,
    handle: () => ({ status: 200, contentType: a.contentType, body: a.body, headers: UI_HEADERS }),
  }));
}

function notConnected(proxy: string): Reply {
  return text(404, `proxy ${JSON.stringify(proxy)} is not connected; see /debug/syncz for the connected proxies`);
}

/** Every proxy, each type's subscribed names summarised (a count and the first ones); one proxy, with all its names. */
function syncz(deps: RouteDeps, req: DebugRequest): Reply {
  const proxy = req.url.searchParams.get('proxy');
  const one = proxy !== null && proxy !== '';
  const statuses = deps.introspection.proxies(one ? { proxyId: proxy, namesListed: Infinity } : {});
  if (one && statuses.length === 0) return notConnected(proxy);
  const view = buildSyncz(statuses, deps.reach);
  return req.url.searchParams.get('format') === 'text' ? text(200, formatSynczText(view)) : json(200, view);
}

function configz(deps: RouteDeps, req: DebugRequest): Reply {
  const problems = sortDiagnostics(deps.problems());
  if (req.url.searchParams.get('format') === 'text') {
    return text(200, problems.length === 0 ? 'no problems: every object was accepted' : problems.map((p) => escapeControl(formatDiagnostic(p))).join('\n'));
  }
  const errors = problems.filter((p) => p.severity === 'error').length;
  return json(200, { errors, warnings: problems.length - errors, problems });
}

function policies(deps: RouteDeps, req: DebugRequest): Reply {
  const list = deps.policies();
  if (req.url.searchParams.get('format') === 'text') {
    return text(200, list.length === 0 ? 'no TrafficPolicies' : list.flatMap(formatPolicyStatus).map(escapeControl).join('\n'));
  }
  return json(200, { policies: list });
}

async function metrics(deps: RouteDeps): Promise<Reply> {
  const { registry } = deps.metrics;
  return { status: 200, contentType: registry.contentType, body: await registry.metrics() };
}

/** The reason readiness gives when all is well: `/readyz` then says just `ready`. */
export const SYNCED = 'sources synced';

function readyz(deps: RouteDeps): Reply {
  const { ready, reason } = deps.readiness();
  if (!ready) return text(503, `not ready: ${reason}`);
  return text(200, reason === SYNCED || reason === '' ? 'ready' : `ready; ${reason}`);
}

/** Every endpoint, in the order the index lists them. */
export function debugRoutes(deps: RouteDeps): Route[] {
  const routes: Route[] = [
    {
      path: '/debug',
      usage: '/debug',
      description: 'this list (JSON with Accept: application/json or ?format=json)',
      handle: (req) => index(routes, req, certzHeadline(deps.certificates()), deps.servers()),
    },
    {
      path: '/debug/syncz',
      usage: '/debug/syncz[?proxy=ID][&format=text]',
      description: `per proxy and type: version sent and acked, SYNCED/STALE/NOT SENT/ERROR with the NACK, the names subscribed to (the first ${SUBSCRIBED_LISTED} and a count; all of them for ?proxy=)`,
      heavy: true,
      handle: (req) => syncz(deps, req),
    },
    {
      path: '/debug/config_dump',
      usage: '/debug/config_dump?proxy=ID',
      description: "the resources one proxy has acked, in the shape of Envoy's admin /config_dump",
      heavy: true,
      handle: (req) => configDump(deps, req),
    },
    {
      path: '/debug/configz',
      usage: '/debug/configz[?format=text]',
      description: 'what is wrong with the configuration: file, document, object, field and message (the last good version keeps serving)',
      handle: (req) => configz(deps, req),
    },
    {
      path: '/debug/policies',
      usage: '/debug/policies[?format=text]',
      description: 'every TrafficPolicy: Accepted, Conflicted, and Programmed (how many proxies acked it, or which rejected it and why)',
      handle: (req) => policies(deps, req),
    },
    {
      path: '/debug/certz',
      usage: '/debug/certz[?format=text]',
      description:
        'workload certificates: issuer, trust bundle, and per identity its state, serial, expiry, renewal and last error (or that nothing is encrypted)',
      handle: (req) => (req.url.searchParams.get('format') === 'text' ? text(200, formatCertzText(deps.certificates())) : json(200, deps.certificates())),
    },
    {
      path: '/debug/resources',
      usage: '/debug/resources?proxy=ID',
      description: 'the resources one proxy has acked, each with the source objects that produced it (Service, TrafficPolicy), sensitive fields redacted',
      heavy: true,
      handle: (req) => resources(deps, req),
    },
    {
      path: '/debug/services',
      usage: '/debug/services',
      description: 'every Service: per port, its endpoints by locality and the TrafficPolicies attached (with the fields each one sets)',
      heavy: true,
      handle: () => json(200, deps.services()),
    },
    {
      path: '/debug/events',
      usage: '/debug/events',
      description: 'server-sent events: `change` when proxies, NACKs, policies or problems change (at most one a second)',
      stream: true,
      // Not called: server.ts answers a stream route itself (events.ts).
      handle: () => text(500, 'the event stream is answered by the server'),
    },
    ...uiRoutes(deps.ui),
    { path: '/metrics', usage: '/metrics', description: 'Prometheus metrics', heavy: true, handle: () => metrics(deps) },
    { path: '/healthz', usage: '/healthz', description: 'liveness: 200 ok while the process serves', handle: () => text(200, 'ok') },
    {
      path: '/readyz',
      usage: '/readyz',
      description: 'readiness: 200 ready (with why, while it serves the last known state), or 503 with the reason it is not',
      handle: () => readyz(deps),
    },
  ];
  return routes;
}

function index(routes: readonly Route[], req: DebugRequest, certificates: string, servers: readonly string[]): Reply {
  const endpoints = routes.filter((r) => r.unlisted !== true).map((r) => ({ path: r.usage, description: r.description }));
  return wantsJson(req)
    ? json(200, { certificates, ...(servers.length > 0 ? { servers } : {}), endpoints })
    : text(200, formatIndexText(endpoints, [certificates, ...servers]));
}
