/** The running control plane, as `trellis serve` (and the end-to-end tests) start it. */
export { ListenError, serve, type RunningTrellis } from './control-plane.js';
export { createLogger, routeGrpcLogs } from './logging.js';
export { runServe, type RunServeOptions, type ServeHandle } from './serve.js';
