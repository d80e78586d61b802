/**
 * The admission webhook's decision as a pure function: an AdmissionReview v1 request in, the
 * AdmissionReview v1 response out. No I/O: the HTTPS server (server.ts) only parses and answers.
 *
 * The namespace's labels are not in a review. The webhook's `namespaceSelector`
 * (`trellis.dev/inject=enabled`) guarantees that only Pods of opted-in namespaces are sent here, so
 * every reviewed Pod counts as being in an opted-in namespace: no API call, no cache of namespaces.
 * The Pod's own label still decides within it (`trellis.dev/inject: "false"` skips), and hostNetwork
 * Pods are skipped (the webhook's matchConditions should not even send them).
 */
import jsonpatch from 'fast-json-patch';
import { inject } from './inject.js';
import { LABEL_INJECT, NAMESPACE_INJECT_VALUE, type InjectSettings } from './settings.js';
import type { PodLike } from './types.js';

export const ADMISSION_API_VERSION = 'admission.k8s.io/v1';

/** The parts of an AdmissionReview v1 request the webhook reads. */
export interface AdmissionRequest {
  readonly uid: string;
  readonly kind?: { readonly group?: string; readonly version?: string; readonly kind?: string };
  readonly operation?: string;
  readonly namespace?: string;
  readonly object?: unknown;
  readonly [key: string]: unknown;
}

export interface AdmissionReview {
  readonly apiVersion: typeof ADMISSION_API_VERSION;
  readonly kind: 'AdmissionReview';
  readonly request: AdmissionRequest;
}

export interface AdmissionResponse {
  readonly uid: string;
  readonly allowed: boolean;
  readonly patchType?: 'JSONPatch';
  /** base64 of the JSON Patch (RFC 6902). */
  readonly patch?: string;
  readonly status?: { readonly status: 'Failure'; readonly code: number; readonly reason: string; readonly message: string };
  readonly warnings?: readonly string[];
}

export interface AdmissionResponseReview {
  readonly apiVersion: typeof ADMISSION_API_VERSION;
  readonly kind: 'AdmissionReview';
  readonly response: AdmissionResponse;
}

/** What became of one review, for the log line. */
export type AdmissionOutcome = 'injected' | 'skipped' | 'refused' | 'ignored';

const isRec = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/** The review, or one line saying why it is not an AdmissionReview v1 request. */
export function parseAdmissionReview(body: unknown): AdmissionReview | string {
  if (!isRec(body)) return 'the body is not a JSON object';
  if (body.apiVersion !== ADMISSION_API_VERSION || body.kind !== 'AdmissionReview') {
    return `expected apiVersion ${ADMISSION_API_VERSION} and kind AdmissionReview, got ${JSON.stringify(body.apiVersion)} ${JSON.stringify(body.kind)}`;
  }
  const request = body.request;
  if (!isRec(request) || typeof request.uid !== 'string' || request.uid === '') return 'the review has no request.uid';
  return body as unknown as AdmissionReview;
}

function isPodCreate(request: AdmissionRequest): boolean {
  const kind = request.kind;
  return request.operation === 'CREATE' && kind?.group === '' && kind.version === 'v1' && kind.kind === 'Pod';
}

function isPod(object: unknown): object is PodLike {
  return isRec(object) && isRec(object.spec) && Array.isArray(object.spec.containers);
}

/** The JSON Patch (RFC 6902) from a Pod to its injected self: what an injected Pod's review is answered with. */
export function podPatch(pod: PodLike, injected: PodLike): jsonpatch.Operation[] {
  return jsonpatch.compare(pod, injected);
}

/** The response to one review, and what became of it. */
export function admit(
  review: AdmissionReview,
  settings: InjectSettings,
): { readonly response: AdmissionResponseReview; readonly outcome: AdmissionOutcome; readonly reason?: string } {
  const { uid, object } = review.request;
  const answer = (response: Omit<AdmissionResponse, 'uid'>): AdmissionResponseReview => ({
    apiVersion: ADMISSION_API_VERSION,
    kind: 'AdmissionReview',
    response: { uid, ...response },
  });
  if (!isPodCreate(review.request) || !isPod(object)) return { response: answer({ allowed: true }), outcome: 'ignored', reason: 'not the CREATE of a Pod' };
  // Only opted-in namespaces reach the webhook (its namespaceSelector): see the header.
  const result = inject(object, { [LABEL_INJECT]: NAMESPACE_INJECT_VALUE }, settings);
  switch (result.kind) {
    case 'injected': {
      const patch = podPatch(object, result.pod);
      return { response: answer({ allowed: true, patchType: 'JSONPatch', patch: Buffer.from(JSON.stringify(patch)).toString('base64') }), outcome: 'injected' };
    }
    case 'skipped':
      return { response: answer({ allowed: true }), outcome: 'skipped', reason: result.reason };
    case 'refused':
      // 403 Forbidden: the code the API server itself puts on a webhook's denial when the webhook gives
      // none (or one outside 400-599), and what policy webhooks (Gatekeeper, Kyverno) send; the client
      // sees `admission webhook "..." denied the request: <message>` with the annotation named.
      return {
        response: answer({ allowed: false, status: { status: 'Failure', code: 403, reason: 'Forbidden', message: result.message } }),
        outcome: 'refused',
        reason: result.message,
      };
  }
}
