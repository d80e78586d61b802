/** The running control plane, as `trellis serve` (and the end-to-end tests) start it. */
export { serve, type RunningTrellis } from './control-plane.js';
export { runServe, type ServeHandle } from './serve.js';
