/**
 * Reaching a Trellis of the chart (helm/trellis) in a cluster, as `kubectl port-forward` would: find a
 * Running pod by the chart's selector label in Trellis's namespace, then forward a local port on
 * 127.0.0.1 (chosen by the kernel) to a port of that pod with client-node's PortForward — one
 * WebSocket per connection, through the API server to the kubelet.
 */
import { createServer, type Server, type Socket } from 'node:net';
import { once } from 'node:events';
import { CoreV1Api, PortForward, type KubeConfig, type V1Pod } from '@kubernetes/client-node';

/** The label every pod of the chart carries (`trellis.selectorLabels`; the instance label is the release's name). */
const TRELLIS_SELECTOR = 'app.kubernetes.io/name=trellis';

function ready(p: V1Pod): boolean {
  return (p.status?.conditions ?? []).some((c) => c.type === 'Ready' && c.status === 'True');
}

function describe(p: V1Pod): string {
  const deleting = p.metadata?.deletionTimestamp !== undefined ? ', being deleted' : '';
  return `${p.metadata?.name ?? '?'} is ${p.status?.phase ?? 'without a phase'}${deleting}`;
}

/** The name of a Running Trellis pod (a Ready one first, then by name); an error naming the namespace and selector when there is none. */
export async function findTrellisPod(kc: KubeConfig, namespace: string): Promise<string> {
  const where = `in namespace ${namespace} (selector ${TRELLIS_SELECTOR})`;
  let pods: V1Pod[];
  try {
    pods = (await kc.makeApiClient(CoreV1Api).listNamespacedPod({ namespace, labelSelector: TRELLIS_SELECTOR })).items;
  } catch (err) {
    throw new Error(`cannot list the Trellis pods ${where} at ${kc.getCurrentCluster()?.server ?? '?'}: ${(err as Error).message.split('\n')[0] ?? ''}`);
  }
  if (pods.length === 0) throw new Error(`no Trellis pod ${where}: is the chart installed there? (--namespace)`);
  const running = pods
    .filter((p) => p.status?.phase === 'Running' && p.metadata?.deletionTimestamp === undefined)
    .sort((a, b) => Number(ready(b)) - Number(ready(a)) || (a.metadata?.name ?? '').localeCompare(b.metadata?.name ?? ''));
  const pod = running[0]?.metadata?.name;
  if (pod === undefined) throw new Error(`no Running Trellis pod ${where}: ${pods.map(describe).join('; ')}`);
  return pod;
}

export interface Forward {
  readonly host: string;
  readonly port: number;
  /** `127.0.0.1:40123 (port-forward to trellis-system/trellis-abc:15014)` */
  readonly label: string;
  /** Why the last forwarded connection failed (the API server refused the upgrade, say), if one did. */
  lastError(): string | undefined;
  close(): Promise<void>;
}

/** The message of whatever a WebSocket failure rejects with (an Error, an ErrorEvent, a string). */
function messageOf(err: unknown): string {
  if (err instanceof Error) return err.message;
  const message = err !== null && typeof err === 'object' ? (err as { message?: unknown }).message : undefined;
  return typeof message === 'string' && message !== '' ? message : String(err);
}

/** A local listener on 127.0.0.1 whose every connection is forwarded to `pod`'s `port`. */
export async function forwardPort(kc: KubeConfig, namespace: string, pod: string, port: number): Promise<Forward> {
  const forward = new PortForward(kc);
  const sockets = new Set<Socket>();
  let failure: string | undefined;
  const server: Server = createServer((socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', (err) => (failure ??= err.message));
    // The client of the local port sees the connection close; why is kept for its error message.
    forward.portForward(namespace, pod, [port], socket, null, socket).catch((err: unknown) => {
      failure = messageOf(err);
      socket.destroy();
    });
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const address = server.address();
  const local = typeof address === 'object' && address !== null ? address.port : 0;
  return {
    host: '127.0.0.1',
    port: local,
    label: `127.0.0.1:${local} (port-forward to ${namespace}/${pod}:${port})`,
    lastError: () => failure,
    async close() {
      for (const s of sockets) s.destroy();
      server.close();
      await once(server, 'close');
    },
  };
}
