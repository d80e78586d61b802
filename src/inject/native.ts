/**
 * Whether Envoy goes in as a native sidecar, decided from the API server's version (`GET /version`):
 * native sidecars (an init container with `restartPolicy: Always`) are on by default from Kubernetes
 * 1.29. Pure: the version in, the decision and its reason out; reading /version is the caller's.
 */

/** The first minor release of Kubernetes 1 with native sidecars on by default (SidecarContainers, beta in 1.29, GA in 1.33). */
export const NATIVE_SIDECARS_SINCE = { major: 1, minor: 29 } as const;

/** What /version answers, the fields this reads (client-node's VersionInfo). */
export interface ServerVersion {
  readonly major?: string;
  readonly minor?: string;
  readonly gitVersion?: string;
  /** The version the server emulates (Kubernetes 1.31+ compatibility versions): what its features follow. */
  readonly emulationMajor?: string;
  readonly emulationMinor?: string;
}

export interface NativeDecision {
  readonly native: boolean;
  /** For /debug and the log: `API server v1.32 >= 1.29`. */
  readonly reason: string;
}

const leadingNumber = (s: string | undefined): number | undefined => {
  const m = /^\s*(\d+)/.exec(s ?? '');
  return m ? Number(m[1]) : undefined;
};

/**
 * major.minor of a /version answer: the emulated version when the server gives one, else major and
 * minor (whose minor may read "29+" on managed clusters), else the start of gitVersion ("v1.29.3-eks-…").
 * Undefined when none of them says.
 */
export function parseServerVersion(v: ServerVersion): { readonly major: number; readonly minor: number } | undefined {
  const pairs: [string | undefined, string | undefined][] = [
    [v.emulationMajor, v.emulationMinor],
    [v.major, v.minor],
  ];
  for (const [major, minor] of pairs) {
    const a = leadingNumber(major);
    const b = leadingNumber(minor);
    if (a !== undefined && b !== undefined) return { major: a, minor: b };
  }
  const git = /^v?(\d+)\.(\d+)/.exec(v.gitVersion?.trim() ?? '');
  return git ? { major: Number(git[1]), minor: Number(git[2]) } : undefined;
}

/** Native sidecars from 1.29; undefined when the version cannot be told from the answer. */
export function nativeSidecarsFor(v: ServerVersion): NativeDecision | undefined {
  const parsed = parseServerVersion(v);
  if (!parsed) return undefined;
  const { major, minor } = NATIVE_SIDECARS_SINCE;
  const native = parsed.major > major || (parsed.major === major && parsed.minor >= minor);
  return { native, reason: `API server v${parsed.major}.${parsed.minor} ${native ? '>=' : '<'} ${major}.${minor}` };
}
