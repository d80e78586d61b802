// The layering of ARCHITECTURE.md (convention 16) as rules: imports point down the pipeline, never back.
// `npm run lint` checks src/ with them; test/tooling/layering.test.ts shows that each rule can fail.
// Paths are relative to the directory cruised from (the repository root).

/** The stages below the edges: pure functions of their input. */
const PURE = '^src/(translate|model|policy|envoy)/';
/** The edges and the composition root: I/O, servers, wiring. */
const EDGES = '^src/(xds|sources|debug|pipeline|certs|cli)/|^src/cli\\.ts$';
/** Generated from the Envoy protos by `npm run gen` (not committed): imports only itself and packages. */
const GENERATED = '^src/envoy/generated/';

/**
 * Every rule is an error: a dependency from a module (or, with scope 'folder', a folder) matching `from` to one matching `to`.
 * @param {string} name
 * @param {string} comment
 * @param {import('dependency-cruiser').IRegularForbiddenRuleType['from']} from
 * @param {import('dependency-cruiser').IRegularForbiddenRuleType['to']} to
 * @param {'module' | 'folder'} [scope]
 * @returns {import('dependency-cruiser').IRegularForbiddenRuleType}
 */
function forbid(name, comment, from, to, scope = 'module') {
  return { name, severity: 'error', comment, scope, from, to };
}

/** @type {import('dependency-cruiser').IConfiguration} */
module.exports = {
  forbidden: [
    forbid(
      'no-circular',
      'No import cycles, type-only imports included: a cycle makes two modules one.',
      { path: '^src/', pathNot: GENERATED },
      { circular: true },
    ),
    forbid(
      'no-stage-cycle',
      'No cycle between the stage folders either (model/types.ts → policy/merge.ts while policy/status.ts → model/types.ts is one ' +
        'even when no module cycle closes). Cycles among the subfolders of one stage are its own affair.',
      { path: '^src/[^/]+$' },
      { circular: true },
      'folder',
    ),
    forbid(
      'pure-stages-not-to-edges',
      'translate, model, policy and envoy import nothing from xds, sources, debug, pipeline or cli.ts.',
      { path: PURE },
      { path: EDGES },
    ),
    forbid(
      'model-policy-not-to-translate',
      'The model (and the policy schema it validates with) comes before translation.',
      { path: '^src/(model|policy)/' },
      { path: '^src/translate/' },
    ),
    forbid(
      'envoy-is-a-leaf',
      'envoy/ imports nothing of Trellis but itself, its generated code and the leaf diagnostics.ts.',
      { path: '^src/envoy/' },
      { path: '^src/', pathNot: ['^src/envoy/', '^src/diagnostics\\.ts$'] },
    ),
    forbid(
      'diagnostics-is-a-leaf',
      'diagnostics.ts is the one shape of a problem that every stage imports; it imports nothing of src/.',
      { path: '^src/diagnostics\\.ts$' },
      { path: '^src/' },
    ),
    forbid('src-not-to-test', 'Production code never imports tests, fixtures or test support.', { path: '^src/' }, { path: '^test/' }),
    forbid('not-to-unresolvable', 'An import that does not resolve would silently escape every rule above.', {}, { couldNotResolve: true }),
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
