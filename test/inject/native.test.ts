/** Native sidecars from the API server's /version: 1.29 or later, however a distribution writes its version. */
import { describe, expect, it } from 'vitest';
import { nativeSidecarsFor, parseServerVersion } from '../../src/inject/native.ts';

describe('native sidecars by the API server version', () => {
  it.each([
    [
      { major: '1', minor: '32', gitVersion: 'v1.32.0' },
      { native: true, reason: 'API server v1.32 >= 1.29' },
    ],
    [
      { major: '1', minor: '29', gitVersion: 'v1.29.0' },
      { native: true, reason: 'API server v1.29 >= 1.29' },
    ],
    [
      { major: '1', minor: '28', gitVersion: 'v1.28.9' },
      { native: false, reason: 'API server v1.28 < 1.29' },
    ],
    // Managed clusters (GKE, EKS) append a "+" to the minor.
    [
      { major: '1', minor: '29+', gitVersion: 'v1.29.3-eks-adc7111' },
      { native: true, reason: 'API server v1.29 >= 1.29' },
    ],
    [
      { major: '1', minor: '27+', gitVersion: 'v1.27.16-gke.1' },
      { native: false, reason: 'API server v1.27 < 1.29' },
    ],
    // Some builds leave major and minor empty: gitVersion then says.
    [
      { major: '', minor: '', gitVersion: 'v1.30.2+k3s1' },
      { native: true, reason: 'API server v1.30 >= 1.29' },
    ],
    // A 1.33 server emulating 1.28 (compatibility version) has the features of 1.28.
    [
      { major: '1', minor: '33', emulationMajor: '1', emulationMinor: '28', gitVersion: 'v1.33.1' },
      { native: false, reason: 'API server v1.28 < 1.29' },
    ],
    [
      { major: '2', minor: '0', gitVersion: 'v2.0.0' },
      { native: true, reason: 'API server v2.0 >= 1.29' },
    ],
  ])('%j → %j', (version, decision) => {
    expect(nativeSidecarsFor(version)).toEqual(decision);
  });

  it('says nothing when the answer has no version in it', () => {
    expect(parseServerVersion({ major: '', minor: '', gitVersion: 'devel' })).toBeUndefined();
    expect(nativeSidecarsFor({})).toBeUndefined();
  });
});
