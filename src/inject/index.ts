/** Sidecar injection: the pure Pod → Pod function, its settings, and the admission decision (the HTTPS server is server.ts). */
export {
  admit,
  parseAdmissionReview,
  podPatch,
  ADMISSION_API_VERSION,
  type AdmissionOutcome,
  type AdmissionRequest,
  type AdmissionResponse,
  type AdmissionResponseReview,
  type AdmissionReview,
} from './admission.js';
export { AnnotationError, podOptions, type PodOptions } from './annotations.js';
export { inject, injectionStatus, type InjectionStatus, type InjectResult } from './inject.js';
export { appHealthPath } from './probes.js';
export * from './settings.js';
export type { Container, PodLike, Probe } from './types.js';
export { describeObject, injectObject, podOf, type ObjectResult } from './workloads.js';
export { injectedYaml } from './yaml.js';
