/**
 * Full garbage collections from inside a test: vitest's forks take no node flags here, so `gc` is
 * exposed at run time.
 */
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';

export function fullGc(times = 3): void {
  setFlagsFromString('--expose-gc');
  const gc = runInNewContext('gc') as () => void;
  for (let i = 0; i < times; i++) gc();
}
