// The layering of ARCHITECTURE.md (convention 16) as rules: imports point down the pipeline, never back.
// `npm run lint` checks src/ with them; test/tooling/depcruise.test.ts shows that each rule can fail.
// Paths are relative to the directory cruised from (the repository root).

/** The stages below the edges: pure functions of their input. */
const PURE = '^src/(translate|model|policy|envoy)/';
/** The edges and the composition root: I/O, servers, wiring. */
const EDGES = '^src/(xds|sources|debug|pipeline)/|^src/cli\\.ts$';
/** Generated from the Envoy protos by `npm run gen` (not committed): imports only itself and packages. */
const GENERATED = '^src/envoy/generated/';

/** @type {import('dependency-cruiser').IConfiguration} */
module.exports = {
  forbidden: [
    {
      name: 'no-circular',
      severity: 'error',
      comment: 'No import cycles, type-only imports included: a cycle makes two modules one.',
      from: { path: '^src/', pathNot: GENERATED },
      to: { circular: true },
    },
    {
      name: 'no-stage-cycle',
      severity: 'error',
      comment:
        'No cycle between the stage folders either (model/types.ts → policy/merge.ts while policy/status.ts → ' +
        'model/types.ts is one even when no module cycle closes). Cycles among the subfolders of one stage are its own affair.',
      scope: 'folder',
      from: { path: '^src/[^/]+$' },
      to: { circular: true },
    },
    {
      name: 'pure-stages-not-to-edges',
      severity: 'error',
      comment: 'translate, model, policy and envoy import nothing from xds, sources, debug, pipeline or cli.ts.',
      from: { path: PURE },
      to: { path: EDGES },
    },
    {
      name: 'model-policy-not-to-translate',
      severity: 'error',
      comment: 'The model (and the policy schema it validates with) comes before translation.',
      from: { path: '^src/(model|policy)/' },
      to: { path: '^src/translate/' },
    },
    {
      name: 'envoy-is-a-leaf',
      severity: 'error',
      comment: 'envoy/ imports nothing of Trellis but itself, its generated code and the leaf diagnostics.ts.',
      from: { path: '^src/envoy/' },
      to: { path: '^src/', pathNot: ['^src/envoy/', '^src/diagnostics\\.ts$'] },
    },
    {
      name: 'diagnostics-is-a-leaf',
      severity: 'error',
      comment: 'diagnostics.ts is the one shape of a problem that every stage imports; it imports nothing of src/.',
      from: { path: '^src/diagnostics\\.ts$' },
      to: { path: '^src/' },
    },
    {
      name: 'src-not-to-test',
      severity: 'error',
      comment: 'Production code never imports tests, fixtures or test support.',
      from: { path: '^src/' },
      to: { path: '^test/' },
    },
    {
      name: 'not-to-unresolvable',
      severity: 'error',
      comment: 'An import that does not resolve would silently escape every rule above.',
      from: {},
      to: { couldNotResolve: true },
    },
  ],
  options: {
    // Type-only imports couple modules too (translate naming an xds type is a back-edge).
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
    // The generated protobuf types are many and cyclic among themselves; they import nothing of Trellis.
    doNotFollow: { path: ['node_modules', GENERATED] },
    enhancedResolveOptions: {
      exportsFields: ['exports'],
      conditionNames: ['import', 'require', 'node', 'default', 'types'],
      mainFields: ['module', 'main', 'types', 'typings'],
    },
    skipAnalysisNotInRules: true,
  },
};
