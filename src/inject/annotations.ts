/**
 * The annotations a Pod steers its injection with, validated: a bad value refuses the Pod with a
 * message naming the annotation, the value and what is allowed.
 */
import { z } from 'zod';
import { ANNOTATIONS } from './settings.js';

export interface PodOptions {
  readonly excludeInboundPorts: readonly number[];
  readonly excludeOutboundPorts: readonly number[];
  readonly excludeOutboundCidrs: readonly string[];
  readonly rewriteProbes: boolean;
  readonly nativeSidecar: boolean;
}

/** A comma-separated list; spaces around items allowed, empty items not (an empty value is an empty list). */
function list(value: string): string[] {
  return value.trim() === '' ? [] : value.split(',').map((s) => s.trim());
}

const port = z
  .string()
  .regex(/^\d{1,5}$/)
  .transform(Number)
  .pipe(z.number().int().min(1).max(65535));
const cidr = z.union([z.cidrv4(), z.cidrv6()]);
const bool = z.enum(['true', 'false']).transform((v) => v === 'true');

interface Rule<T> {
  readonly parse: (value: string) => T | undefined;
  readonly allowed: string;
}

function listOf<T>(item: z.ZodType<T>, allowed: string): Rule<T[]> {
  return {
    parse(value) {
      const items = list(value).map((s) => item.safeParse(s));
      if (items.some((r) => !r.success)) return undefined;
      return items.map((r) => r.data as T);
    },
    allowed,
  };
}

const ports = listOf(port, 'comma-separated ports 1-65535, e.g. "8080,9090"');
const cidrs = listOf(cidr, 'comma-separated IPv4 or IPv6 CIDRs, e.g. "10.0.0.0/8,fd00::/8"');
const flag: Rule<boolean> = { parse: (v) => bool.safeParse(v).data, allowed: '"true" or "false"' };

export class AnnotationError extends Error {
  constructor(
    readonly annotation: string,
    readonly value: string,
    allowed: string,
    noun: 'annotation' | 'label' = 'annotation',
  ) {
    super(`${noun} ${annotation}: ${JSON.stringify(value)} is not allowed: expected ${allowed}`);
    this.name = 'AnnotationError';
  }
}

function read<T>(annotations: Readonly<Record<string, string>>, key: string, rule: Rule<T>, fallback: T): T {
  const value = annotations[key];
  if (value === undefined) return fallback;
  const parsed = rule.parse(value);
  if (parsed === undefined) throw new AnnotationError(key, value, rule.allowed);
  return parsed;
}

const sortedUnique = <T>(xs: readonly T[], cmp?: (a: T, b: T) => number): T[] => [...new Set(xs)].sort(cmp);

/** The Pod's options; throws AnnotationError for the first bad annotation (in the order of ANNOTATIONS). */
export function podOptions(annotations: Readonly<Record<string, string>>, nativeByDefault: boolean): PodOptions {
  return {
    excludeInboundPorts: sortedUnique(read(annotations, ANNOTATIONS.excludeInboundPorts, ports, []), (a, b) => a - b),
    excludeOutboundPorts: sortedUnique(read(annotations, ANNOTATIONS.excludeOutboundPorts, ports, []), (a, b) => a - b),
    excludeOutboundCidrs: sortedUnique(read(annotations, ANNOTATIONS.excludeOutboundCidrs, cidrs, [])),
    rewriteProbes: read(annotations, ANNOTATIONS.rewriteProbes, flag, true),
    nativeSidecar: read(annotations, ANNOTATIONS.nativeSidecar, flag, nativeByDefault),
  };
}
