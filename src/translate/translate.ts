/**
 * translate(model, proxy): the Envoy resources of one proxy class. Dispatches on the proxy's mode;
 * both translators memoise what does not depend on the proxy, per model.
 */
import type { MeshModel } from '../model/types.js';
import type { ProxyDescriptor } from './proxy.js';
import { translateProxyless } from './proxyless.js';
import { translateSidecar } from './sidecar.js';
import type { Translation } from './translation.js';

export function translate(model: MeshModel, proxy: ProxyDescriptor): Translation {
  return proxy.mode === 'sidecar' ? translateSidecar(model, { ...proxy, mode: 'sidecar' }) : translateProxyless(model, { ...proxy, mode: 'proxyless' });
}
