/**
 * Settings of the standing fuzz tests (fast-check). Seeded, so `npm test` runs the same cases every
 * time and a failure reproduces; bounded, so each property takes a few seconds. For a longer run:
 *
 *   TRELLIS_FUZZ_RUNS=2000 npx vitest run test/translate/fuzz.test.ts test/xds/fuzz.test.ts
 *
 * TRELLIS_FUZZ_RUNS sets the number of runs of every property; TRELLIS_FUZZ_SEED another seed (a
 * failing run prints its seed and path, which fast-check replays with `seed` and `path`).
 */
import fc from 'fast-check';

const DEFAULT_SEED = 11;

function envInt(name: string): number | undefined {
  const text = process.env[name];
  if (text === undefined || text === '') return undefined;
  const n = Number(text);
  if (!Number.isSafeInteger(n) || n <= 0) throw new Error(`${name} must be a positive integer, not ${JSON.stringify(text)}`);
  return n;
}

const RUNS = envInt('TRELLIS_FUZZ_RUNS');
const SEED = envInt('TRELLIS_FUZZ_SEED') ?? DEFAULT_SEED;

/** Whether a longer run was asked for (tests give themselves more time then). */
export const LONG_FUZZ = RUNS !== undefined;

/** How many runs a property makes: `runs` in `npm test`, TRELLIS_FUZZ_RUNS when set. */
export function fuzzRuns(runs: number): number {
  return RUNS ?? runs;
}

/** fast-check parameters: fuzzRuns(runs) runs, always seeded. */
export function fuzzParameters<T>(runs: number): fc.Parameters<T> {
  return { numRuns: fuzzRuns(runs), seed: SEED };
}

/** Strings that have broken parsers and protocols: control characters, separators, odd Unicode, lengths. */
export const hostileString: fc.Arbitrary<string> = fc.oneof(
  fc.constantFrom(
    '',
    ' ',
    'bad\nname',
    'a\u0000b',
    '\r\n',
    '*',
    '/',
    'a/b',
    '..',
    '.',
    '@',
    '|',
    ':80',
    'outbound|80||x',
    '-',
    'UPPER',
    'web',
    'shop',
    'default',
    'http',
    '80',
    '0',
    '-1',
    '1e309',
    'null',
    'true',
    '~',
    '{}',
    '[]',
    '\u202e',
    '\ud800',
    'é',
    '💥',
    '%00',
    '${x}',
    '\\',
    '"',
    "'",
    'a'.repeat(64),
    'a'.repeat(254),
  ),
  fc.string({ maxLength: 12 }),
  fc.string({ unit: 'binary', maxLength: 12 }),
  fc.stringMatching(/^[a-z0-9]([-a-z0-9.]{0,10}[a-z0-9])?$/),
);

/** Any JSON-like value, hostile strings and numbers included, nested a little. */
export const hostileValue: fc.Arbitrary<unknown> = fc.letrec((tie) => ({
  value: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    hostileString,
    fc.constantFrom(null, true, false, 0, -1, 1, 80, 65535, 65536, 1.5, Number.MAX_SAFE_INTEGER, -0),
    fc.integer(),
    fc.array(tie('value'), { maxLength: 3 }),
    fc.dictionary(hostileString, tie('value'), { maxKeys: 3 }),
  ),
})).value;
