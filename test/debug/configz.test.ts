import { describe, expect, it } from 'vitest';
import { startServer } from './support.ts';

describe('/debug/configz', () => {
  it('says so when every object was accepted', async () => {
    const s = await startServer();
    expect(await (await fetch(`${s.base}/debug/configz?format=text`)).text()).toBe('no problems: every object was accepted\n');
    expect(await (await fetch(`${s.base}/debug/configz`)).json()).toEqual({ errors: 0, warnings: 0, problems: [] });
  });

  it('lists errors before warnings, each with file, document, line and column, object and field', async () => {
    const s = await startServer();
    s.problems.push(
      {
        severity: 'warning',
        origin: { file: 'b.yaml', document: 0 },
        object: { kind: 'Pod', namespace: 'default', name: 'p' },
        field: 'status.podIP',
        message: 'no IP yet',
      },
      {
        severity: 'error',
        origin: { file: 'a.yaml', document: 2, line: 14, column: 7 },
        object: { kind: 'Service', namespace: 'default', name: 'web' },
        field: 'spec.ports[0].port',
        message: 'must be at most 65535',
      },
    );
    const lines = (await (await fetch(`${s.base}/debug/configz?format=text`)).text()).trim().split('\n');
    expect(lines).toEqual([
      'error: a.yaml#3:14:7 Service default/web: spec.ports[0].port: must be at most 65535',
      'warning: b.yaml#1 Pod default/p: status.podIP: no IP yet',
    ]);
    const body = (await (await fetch(`${s.base}/debug/configz`)).json()) as { errors: number; warnings: number };
    expect([body.errors, body.warnings]).toEqual([1, 1]);
  });
});
