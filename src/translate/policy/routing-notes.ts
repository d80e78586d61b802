/**
 * Notes about `routing.http` of a policy: `routing.http` is merged as one field, so a note on any
 * part of it (`routing.http[0].backends[1].service`) is reported on the policy that set the list.
 */
import type { Diagnostic, ObjectRef } from '../../diagnostics.js';
import { notImplementedByGrpc, policyNote } from './notes.js';
import type { PortContext } from './types.js';

function routingOrigin(ctx: PortContext): ObjectRef {
  return ctx.port.policy?.origins['routing.http'] ?? ctx.service.source;
}

/**
 * An error in `path` (`routing.http[0].backends[1].service`, relative to `spec`) of the policy that
 * set routing.http: what it asks cannot be done for any proxy (a warning when `warning`).
 */
export function routingNote(ctx: PortContext, path: string, message: string, warning = false): Diagnostic {
  return { ...policyNote(ctx, path, message), object: routingOrigin(ctx), severity: warning ? 'warning' : 'error' };
}

/** proxyless gRPC lacks what `path` of routing.http asks for; `instead` says what happens. */
export function routingNotByGrpc(ctx: PortContext, path: string, what: string, instead: string): Diagnostic {
  return { ...notImplementedByGrpc(ctx, path, what, instead), object: routingOrigin(ctx) };
}

/** `routing.http[<i>]` */
export function rulePath(i: number): string {
  return `routing.http[${i}]`;
}
