// Type-aware linting of src/ and test/ (`npm run lint`): typescript-eslint's recommended-type-checked rules,
// with the promise and switch rules the project leans on named explicitly. test/tooling/eslint.test.ts shows
// that they fire, on test/fixtures/eslint (which the repository run ignores).
import { defineConfig } from 'eslint/config';
import tseslint from 'typescript-eslint';

export default defineConfig(
  { ignores: ['dist/', 'coverage/', '.scratch/', 'src/envoy/generated/', 'test/fixtures/'] },
  {
    files: ['**/*.ts'],
    extends: [tseslint.configs.recommendedTypeChecked],
    languageOptions: { parserOptions: { project: './tsconfig.json', tsconfigRootDir: import.meta.dirname } },
    linterOptions: { reportUnusedDisableDirectives: 'error' },
    rules: {
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/no-misused-promises': 'error',
      // A default clause does not make a switch over a union exhaustive: a new member must be handled where it is
      // switched on. A switch over a plain string or number needs a default.
      '@typescript-eslint/switch-exhaustiveness-check': ['error', { considerDefaultExhaustiveForUnions: false, requireDefaultForNonUnion: true }],
      // A variable assigned once, after a closure that reads it (two objects that need each other), stays `let`.
      'prefer-const': ['error', { ignoreReadBeforeAssign: true }],
      // `async` without `await` is how an interface's Promise-returning method turns a throw into a rejection.
      '@typescript-eslint/require-await': 'off',
      // `const { dropped: _, ...kept } = value` and `for (const _ of xs)` are how the code says "not used".
      '@typescript-eslint/no-unused-vars': ['error', { ignoreRestSiblings: true, varsIgnorePattern: '^_', argsIgnorePattern: '^_' }],
    },
  },
  {
    // Convention 11: no non-null `!` outside tests.
    files: ['src/**/*.ts'],
    // Typed with the program of src alone (tsconfig.build.json), not the whole tree's: `npm run lint`
    // lints src in a process of its own, which then holds about half the memory.
    languageOptions: { parserOptions: { projectService: false, project: './tsconfig.build.json', tsconfigRootDir: import.meta.dirname } },
    rules: { '@typescript-eslint/no-non-null-assertion': 'error' },
  },
  {
    // vitest types its asymmetric matchers (expect.stringContaining(...) and the like) as `any`.
    files: ['test/**/*.ts'],
    rules: { '@typescript-eslint/no-unsafe-assignment': 'off' },
  },
);
