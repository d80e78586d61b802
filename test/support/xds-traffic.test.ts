/**
 * Self-check of the traffic helpers the xDS test children share (test/support/xds-traffic.ts): how a
 * server decides each attempt, how a load's metadata is templated, how a load is reported.
 */
import { status } from '@grpc/grpc-js';
import { describe, expect, it } from 'vitest';
import { attemptOutcome, callMetadata, failureDetails, loadReport, serverOf, statusName, type ServerBehaviour } from './xds-traffic.js';

describe('attemptOutcome', () => {
  it.each<[string, ServerBehaviour, number, { delayMs: number; code?: number }]>([
    ['answers at once by default', {}, 1, { delayMs: 0 }],
    ['fails an early attempt', { failFirst: { attempts: 2, code: 'UNAVAILABLE' } }, 2, { delayMs: 0, code: status.UNAVAILABLE }],
    ['answers the attempt after the failing ones', { failFirst: { attempts: 2, code: 'UNAVAILABLE' } }, 3, { delayMs: 0 }],
    ['fails every attempt', { failAlways: 'INTERNAL' }, 7, { delayMs: 0, code: status.INTERNAL }],
    ['delays, then answers', { delayMs: 300 }, 1, { delayMs: 300 }],
  ])('%s', (_what, behaviour, attempt, expected) => {
    expect(attemptOutcome(behaviour, attempt)).toEqual(expected);
  });
});

describe('callMetadata', () => {
  it('puts the call index, or the index modulo N, into every value', () => {
    expect(callMetadata({ 'x-call-id': 'r-{i}', 'x-user': 'u{i%3}', plain: 'v' }, 7)).toEqual({ 'x-call-id': 'r-7', 'x-user': 'u1', plain: 'v' });
    expect(callMetadata(undefined, 1)).toEqual({});
  });
});

describe('serverOf', () => {
  it('names the server of a reply, of a failure it produced, and none for a failure the client produced', () => {
    expect(serverOf({ message: 'alpha:hello' })).toBe('alpha');
    expect(serverOf({ details: failureDetails('beta', 2) })).toBe('beta');
    expect(serverOf({ details: 'Call dropped by load balancing policy.' })).toBeUndefined();
  });
});

describe('loadReport', () => {
  it('sorts the calls and tallies them by code and, when OK, by server', () => {
    const report = loadReport(
      [
        { i: 2, code: 'UNAVAILABLE', elapsedMs: 1, details: 'x' },
        { i: 0, code: 'OK', server: 'alpha', elapsedMs: 3 },
        { i: 1, code: 'OK', server: 'alpha', elapsedMs: 2 },
      ],
      10,
    );
    expect(report.calls.map((c) => c.i)).toEqual([0, 1, 2]);
    expect(report.byCode).toEqual({ OK: 2, UNAVAILABLE: 1 });
    expect(report.okByServer).toEqual({ alpha: 2 });
    expect(statusName(status.DATA_LOSS)).toBe('DATA_LOSS');
    expect(statusName(99)).toBe('UNKNOWN');
  });
});
