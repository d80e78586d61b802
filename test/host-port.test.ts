/** `host:port` with an IPv6 literal in brackets: the one way URLs, gRPC targets and messages write an address. */
import { describe, expect, it } from 'vitest';
import { hostPort } from '../src/host-port.ts';

describe('hostPort', () => {
  it.each([
    ['127.0.0.1', 15010, '127.0.0.1:15010'],
    ['trellis.trellis-system.svc', 15012, 'trellis.trellis-system.svc:15012'],
    ['::1', 15014, '[::1]:15014'],
    ['fd00:10:96::a', '50051', '[fd00:10:96::a]:50051'],
  ])('writes %s and %s as %s', (host, port, expected) => {
    expect(hostPort(host, port)).toBe(expected);
  });
});
