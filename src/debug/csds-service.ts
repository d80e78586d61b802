/**
 * The ClientStatusDiscoveryService (envoy.service.status.v3) on grpc-js: FetchClientStatus answers one
 * request, StreamClientStatus each request of its stream as it arrives. The xDS server registers it on
 * its plaintext port only (see the README's "Client status (CSDS)" for why).
 */
import * as grpc from '@grpc/grpc-js';
import type { Logger } from 'pino';
import { messageType } from '../envoy/protos.js';
import type { XdsClientStatus } from '../xds/status.js';
import { clientStatusResponse, csdsQuery, CsdsRequestError, type ClientStatusRequestObject } from './csds.js';

const SERVICE = '/envoy.service.status.v3.ClientStatusDiscoveryService';
const REQUEST = 'envoy.service.status.v3.ClientStatusRequest';
const RESPONSE = 'envoy.service.status.v3.ClientStatusResponse';

/** A request whose bytes do not decode; answered INVALID_ARGUMENT. */
interface Undecodable {
  readonly undecodable: string;
}

type Request = ClientStatusRequestObject | Undecodable;
type Response = Record<string, unknown>;

/** How both sides read a message: int64s as strings, enums by name, a oneof's field name in its own key. */
const TO_OBJECT = { longs: String, enums: String, oneofs: true } as const;

function decodeRequest(buf: Buffer): Request {
  const type = messageType(REQUEST);
  try {
    const request: ClientStatusRequestObject = type.toObject(type.decode(buf), TO_OBJECT);
    return request;
  } catch (err) {
    return { undecodable: (err as Error).message };
  }
}

function encodeResponse(res: Response): Buffer {
  const type = messageType(RESPONSE);
  const bytes = type.encode(type.fromObject(res)).finish();
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

function encodeRequest(req: Request): Buffer {
  const type = messageType(REQUEST);
  return Buffer.from(type.encode(type.fromObject(req)).finish());
}

function decodeResponse(buf: Buffer): Response {
  const type = messageType(RESPONSE);
  return type.toObject(type.decode(buf), TO_OBJECT);
}

const method = (name: string, stream: boolean) => ({
  path: `${SERVICE}/${name}`,
  requestStream: stream,
  responseStream: stream,
  requestSerialize: encodeRequest,
  requestDeserialize: decodeRequest,
  responseSerialize: encodeResponse,
  responseDeserialize: decodeResponse,
});

/** The service for grpc-js: the server's handlers are registered with it, and a client calls its methods' paths with their serializers. */
export const csdsServiceDefinition = {
  StreamClientStatus: method('StreamClientStatus', true),
  FetchClientStatus: method('FetchClientStatus', false),
} satisfies grpc.ServiceDefinition;

/** A status for grpc-js: INVALID_ARGUMENT for a request CSDS cannot answer, INTERNAL for anything else. */
interface Failure {
  readonly code: grpc.status;
  readonly details: string;
}

/** The response to one request, or why there is none. */
function answer(status: XdsClientStatus, req: Request): Response | Failure {
  if ('undecodable' in req) return { code: grpc.status.INVALID_ARGUMENT, details: `malformed ClientStatusRequest: ${req.undecodable}` };
  try {
    const query = csdsQuery(req);
    return clientStatusResponse(status.clientResources(query.select), query.excludeContents);
  } catch (err) {
    if (err instanceof CsdsRequestError) return { code: grpc.status.INVALID_ARGUMENT, details: err.message };
    return { code: grpc.status.INTERNAL, details: `internal error: ${(err as Error).message}` };
  }
}

function isFailure(r: Response | Failure): r is Failure {
  return typeof r.code === 'number' && typeof r.details === 'string';
}

/** The handlers of the CSDS service over the server's per-resource view. */
export function csdsImplementation(status: XdsClientStatus, logger: Logger): grpc.UntypedServiceImplementation {
  const refused = (what: string, f: Failure): void => {
    if (f.code === grpc.status.INTERNAL) logger.error({ rpc: what, error: f.details }, 'client status request failed');
    else logger.info({ rpc: what, code: grpc.status[f.code], error: f.details }, 'client status request refused');
  };
  return {
    FetchClientStatus: (call: grpc.ServerUnaryCall<Request, Response>, callback: grpc.sendUnaryData<Response>) => {
      const res = answer(status, call.request);
      if (!isFailure(res)) return callback(null, res);
      refused('FetchClientStatus', res);
      callback(res);
    },
    StreamClientStatus: (call: grpc.ServerDuplexStream<Request, Response>) => {
      let failed = false;
      call.on('data', (req: Request) => {
        if (failed) return;
        const res = answer(status, req);
        if (!isFailure(res)) {
          call.write(res);
          return;
        }
        refused('StreamClientStatus', res);
        failed = true;
        call.emit('error', res);
      });
      call.on('end', () => call.end());
      call.on('error', () => undefined);
    },
  };
}
