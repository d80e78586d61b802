/**
 * The problem log: each problem logged once when it appears and once when it is fixed; and the
 * line that says what is served.
 */
import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import type { Diagnostic } from '../../src/diagnostics.ts';
import { createLogger, ProblemLog, served, servingSummary } from '../../src/pipeline/logging.ts';
import { Logs } from '../support/logs.ts';
import { endpoint, modelOf, port, service } from '../translate/model-fixtures.ts';

const broken: Diagnostic = {
  severity: 'error',
  origin: { file: 'web.yaml', document: 0 },
  object: { kind: 'Service', namespace: 'shop', name: 'web' },
  field: 'spec.ports[0].port',
  message: 'must be at most 65535',
};
const unread: Diagnostic = { severity: 'warning', origin: { file: 'x.yaml', document: 1 }, message: 'kind Secret is not read' };

describe('ProblemLog', () => {
  it('logs a problem when it appears, not again while it stays, and once as fixed when it goes', () => {
    const logs = new Logs();
    const log = new ProblemLog(pino({ level: 'info' }, { write: logs.write }));
    const said = () => logs.lines.splice(0).map((l) => [l.level, l.msg]);

    expect(log.update([broken, unread])).toEqual({ errors: 1, warnings: 1 });
    expect(said()).toEqual([
      [50, 'web.yaml#1 Service shop/web: spec.ports[0].port: must be at most 65535'],
      [40, 'x.yaml#2 kind Secret is not read'],
    ]);
    expect(logs.lines).toEqual([]);
    log.update([{ ...broken }, unread]);
    expect(said()).toEqual([]);
    expect(log.update([unread])).toEqual({ errors: 0, warnings: 1 });
    expect(said()).toEqual([[30, 'fixed: web.yaml#1 Service shop/web: spec.ports[0].port: must be at most 65535']]);
    log.update([unread, broken]);
    expect(said()).toEqual([[50, 'web.yaml#1 Service shop/web: spec.ports[0].port: must be at most 65535']]);
  });

  it('logs where the problem is as fields', () => {
    const logs = new Logs();
    new ProblemLog(pino({ level: 'info' }, { write: logs.write })).update([broken]);
    expect(logs.lines[0]).toMatchObject({ file: 'web.yaml', document: 0, object: 'Service shop/web', field: 'spec.ports[0].port' });
    expect(logs.lines[0]).not.toHaveProperty('severity');
  });
});

describe('servingSummary', () => {
  it.each([
    [modelOf([]), { errors: 0, warnings: 0 }, 'serving 0 services, 0 endpoints, 0 policies; 0 errors, 0 warnings'],
    [
      modelOf([service('shop', 'web', { ports: [port('http', 80, 'http', [endpoint('10.0.0.1', 8080, 'a'), endpoint('10.0.0.2', 8080, 'a')])] })]),
      { errors: 1, warnings: 2 },
      'serving 1 service, 2 endpoints, 0 policies; 1 error, 2 warnings',
    ],
  ])('says what is served and what is wrong, in one line', (model, counts, line) => {
    expect(servingSummary(served(model, counts))).toBe(line);
  });
});

describe('createLogger', () => {
  it('time-stamps in ISO 8601', () => {
    const logs = new Logs();
    createLogger('info', { write: logs.write }).info('hello');
    expect(logs.lines[0]?.time).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
  });
});
