/**
 * Proxy classes (src/translate/proxy.ts): what a node is taken for, the class key it gets, and the
 * key read back — with and without a locality. Classes of nodes without a locality are exactly
 * what they were before localities were part of the class.
 */
import { describe, expect, it } from 'vitest';
import { classifyNode, describeNode, parseProxyClass, proxyClassOf, type ProxyDescriptor } from '../../src/translate/proxy.ts';
import type { NodeInfo } from '../../src/envoy/node.ts';

function node(id: string, mode: string, locality?: NodeInfo['locality']): NodeInfo {
  return { id, cluster: '', metadata: { PROXY_MODE: mode }, userAgent: '', ...(locality ? { locality } : {}) };
}

const EU = { region: 'eu-west1', zone: 'eu-west1-b', subZone: '' };

describe('proxy classes', () => {
  it.each<[string, NodeInfo, string, ProxyDescriptor]>([
    ['a sidecar without a locality', node('web-0.shop', 'sidecar'), 'sidecar/shop/web-0', { mode: 'sidecar', namespace: 'shop', pod: 'web-0' }],
    ['a proxyless client without a locality', node('client.shop', 'proxyless'), 'proxyless/shop', { mode: 'proxyless', namespace: 'shop' }],
    ['an empty locality (no part set)', node('client.shop', 'proxyless', {}), 'proxyless/shop', { mode: 'proxyless', namespace: 'shop' }],
    [
      'a locality of empty strings',
      node('web-0.shop', 'sidecar', { region: '', zone: '', sub_zone: '' }),
      'sidecar/shop/web-0',
      { mode: 'sidecar', namespace: 'shop', pod: 'web-0' },
    ],
    [
      'a sidecar with region and zone',
      node('web-0.shop', 'sidecar', { region: 'eu-west1', zone: 'eu-west1-b' }),
      'sidecar/shop/web-0@eu-west1/eu-west1-b/',
      { mode: 'sidecar', namespace: 'shop', pod: 'web-0', locality: EU },
    ],
    [
      'a proxyless client with every part',
      node('client.shop', 'proxyless', { region: 'r', zone: 'z', sub_zone: 'rack-7' }),
      'proxyless/shop@r/z/rack-7',
      { mode: 'proxyless', namespace: 'shop', locality: { region: 'r', zone: 'z', subZone: 'rack-7' } },
    ],
    [
      'a zone only',
      node('client.shop', 'proxyless', { zone: 'zone-a' }),
      'proxyless/shop@/zone-a/',
      { mode: 'proxyless', namespace: 'shop', locality: { region: '', zone: 'zone-a', subZone: '' } },
    ],
    [
      'parts with / and @ (escaped)',
      node('client.shop', 'proxyless', { region: 'a/b', zone: 'c@d', sub_zone: '100%' }),
      'proxyless/shop@a%2Fb/c%40d/100%25',
      { mode: 'proxyless', namespace: 'shop', locality: { region: 'a/b', zone: 'c@d', subZone: '100%' } },
    ],
  ])('%s', (_label, n, key, descriptor) => {
    expect(describeNode(n)).toStrictEqual(descriptor);
    expect(classifyNode(n)).toBe(key);
    expect(proxyClassOf(descriptor)).toBe(key);
    expect(parseProxyClass(key)).toStrictEqual(descriptor);
  });

  it('gives proxies in one locality one class, and proxies in another another', () => {
    const a = ['c1', 'c2', 'c3'].map((id) => classifyNode(node(`${id}.shop`, 'proxyless', { region: 'r', zone: 'a' })));
    const b = classifyNode(node('c4.shop', 'proxyless', { region: 'r', zone: 'b' }));
    expect(new Set(a)).toEqual(new Set(['proxyless/shop@r/a/']));
    expect(b).toBe('proxyless/shop@r/b/');
  });

  it.each([
    ['an unknown mode', 'gateway/shop'],
    ['a sidecar without pod', 'sidecar/shop'],
    ['too many parts', 'proxyless/shop/extra'],
    ['a locality of two parts', 'proxyless/shop@r/z'],
    ['a locality of four parts', 'proxyless/shop@r/z/s/t'],
    ['an empty locality', 'proxyless/shop@//'],
    ['a bad escape', 'proxyless/shop@r%zz/z/'],
    ['an escape proxyClassOf would not write', 'proxyless/shop@%72/z/'],
    ['two @', 'sidecar/shop/web-0@r/z/@r/z/'],
    ['a locality without a class', '@r/z/'],
  ])('rejects %s: %s', (_label, key) => {
    expect(parseProxyClass(key)).toBeUndefined();
  });
});
