/** Sidecar injection: the pure Pod → Pod function and its settings. */
export { AnnotationError, podOptions, type PodOptions } from './annotations.js';
export { inject, injectionStatus, type InjectionStatus, type InjectResult } from './inject.js';
export { appHealthPath } from './probes.js';
export * from './settings.js';
export type { Container, PodLike, Probe } from './types.js';
export { describeObject, injectObject, type ObjectResult } from './workloads.js';
export { injectedYaml } from './yaml.js';
