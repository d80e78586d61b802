import { describe, expect, it } from 'vitest';
import { ConfigError, loadServeConfig } from '../../src/config/config.ts';

describe('serve configuration', () => {
  it('has defaults for everything but the resources', () => {
    expect(loadServeConfig({ resources: 'r.yaml' }, {})).toEqual({
      resources: 'r.yaml',
      xdsAddress: { host: '127.0.0.1', port: 15010 },
      debugAddress: { host: '127.0.0.1', port: 15014 },
      debounceMinMs: 100,
      debounceMaxMs: 1000,
      logLevel: 'info',
    });
  });

  it('takes environment variables, and flags over them', () => {
    const c = loadServeConfig({ 'xds-address': '[::1]:9000' }, { TRELLIS_RESOURCES: 'env.yaml', TRELLIS_XDS_ADDRESS: '0.0.0.0:1' });
    expect(c.resources).toBe('env.yaml');
    expect(c.xdsAddress).toEqual({ host: '::1', port: 9000 });
  });

  it.each([
    [{ resources: 'r', 'xds-address': 'nope' }, '--xds-address (TRELLIS_XDS_ADDRESS): expected HOST:PORT'],
    [{ resources: 'r', 'debug-address': 'h:70000' }, '--debug-address (TRELLIS_DEBUG_ADDRESS): port must be at most 65535'],
    [{ resources: 'r', 'debounce-min': '500', 'debounce-max': '100' }, '--debounce-min (TRELLIS_DEBOUNCE_MIN_MS): debounce min must not exceed max'],
    [{ resources: 'r', 'log-level': 'loud' }, '--log-level (TRELLIS_LOG_LEVEL):'],
    [{}, '--resources (TRELLIS_RESOURCES):'],
  ])('says which flag is wrong in one line: %j', (flags, message) => {
    expect(() => loadServeConfig(flags, {})).toThrow(ConfigError);
    expect(() => loadServeConfig(flags, {})).toThrow(message);
  });
});
