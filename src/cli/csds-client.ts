/**
 * A client of Trellis's Client Status Discovery Service (envoy.service.status.v3, on the plaintext
 * xDS port): FetchClientStatus for every connected proxy or one node id, without resource contents.
 * Messages are encoded and decoded as the service itself does (src/debug/csds-service.ts); the answer
 * is checked against the fields the commands read.
 */
import * as grpc from '@grpc/grpc-js';
import { z } from 'zod';
import { csdsServiceDefinition } from '../debug/csds-service.js';

const FETCH = csdsServiceDefinition.FetchClientStatus;
const DEADLINE_MS = 15_000;

const timestamp = z.object({ seconds: z.string().optional(), nanos: z.number().optional() });

const genericXdsConfig = z.object({
  type_url: z.string(),
  name: z.string(),
  version_info: z.string().optional(),
  last_updated: timestamp.optional(),
  config_status: z.string().optional(),
  client_status: z.string().optional(),
  error_state: z.object({ details: z.string().optional(), version_info: z.string().optional(), last_update_attempt: timestamp.optional() }).optional(),
});

const clientStatusResponse = z.object({
  config: z
    .array(
      z.object({
        node: z.object({ id: z.string().optional(), cluster: z.string().optional() }).optional(),
        generic_xds_configs: z.array(genericXdsConfig).optional(),
      }),
    )
    .optional(),
});

export type GenericXdsConfig = z.output<typeof genericXdsConfig>;
export type ClientStatus = z.output<typeof clientStatusResponse>;

/** Where the xDS port is, and how to name it in an error. */
export interface XdsEndpoint {
  readonly address: string;
  readonly label: string;
}

/** Client status of every connected proxy, or of the one whose node id is `proxy` (exactly). */
export function fetchClientStatus(endpoint: XdsEndpoint, proxy?: string): Promise<ClientStatus> {
  const request = { exclude_resource_contents: true, ...(proxy === undefined ? {} : { node_matchers: [{ node_id: { exact: proxy } }] }) };
  const client = new grpc.Client(endpoint.address, grpc.credentials.createInsecure());
  return new Promise<ClientStatus>((resolve, reject) => {
    client.makeUnaryRequest(FETCH.path, FETCH.requestSerialize, FETCH.responseDeserialize, request, { deadline: Date.now() + DEADLINE_MS }, (err, res) => {
      if (err) {
        const unreachable = err.code === grpc.status.UNAVAILABLE || err.code === grpc.status.DEADLINE_EXCEEDED;
        const what = unreachable ? `cannot reach Trellis's xDS port at ${endpoint.label}` : `${endpoint.label}: client status (CSDS) failed`;
        // grpc-js words a refused connection "No connection established. Last error: Error: connect ECONNREFUSED …. Resolution note: …".
        const details = (err.details || grpc.status[err.code])
          .replace(/^No connection established\. Last error: (Error: )?/, '')
          .replace(/\. Resolution note:.*$/, '');
        reject(new Error(`${what}: ${details}`));
        return;
      }
      const parsed = clientStatusResponse.safeParse(res);
      if (parsed.success) resolve(parsed.data);
      else reject(new Error(`${endpoint.label}: unexpected client status answer: ${parsed.error.issues[0]?.message ?? 'invalid'}`));
    });
  }).finally(() => client.close());
}
