/**
 * The default source: a directory of Kubernetes manifests (Namespaces, Nodes, Services,
 * EndpointSlices, Pods, TrafficPolicies), read recursively and watched. parse.ts is pure; read.ts and watch.ts do the I/O.
 */
export { skippedSummary } from './errors.js';
export { EMPTY_MANIFEST_STATE, parseManifests, type ManifestFile, type ManifestResult, type ManifestState, type StoredInput } from './parse.js';
export { locateProblems } from './locate.js';
export { DEFAULT_MAX_FILE_BYTES, ManifestPathError, readManifestDir, readManifestPaths, STDIN_PATH } from './read.js';
export { watchManifests, type ManifestWatch, type WatchManifestsOptions, type WatchStatus } from './watch.js';
export { manifestProblems, startManifestSource } from './source.js';
