/**
 * The protocol-independent half of the ADS test client: one bidi call on its own channel, a queue of
 * received responses, waiters for the next one, silence assertions, and the end of the stream.
 */
import * as grpc from '@grpc/grpc-js';
import { adsMethod, field, type AdsMethod } from './ads-client-protos.ts';

export interface GrpcStatus {
  code: grpc.status;
  details: string;
}

/** How the stream ended, as seen by a pending or later `next()`. */
export class AdsStreamError extends Error {
  readonly code: grpc.status;
  readonly details: string;
  constructor(context: string, status: GrpcStatus) {
    const name = grpc.status[status.code] ?? 'UNKNOWN';
    super(`${context}: the stream ended with status ${status.code} (${name}): ${status.details}`);
    this.name = 'AdsStreamError';
    this.code = status.code;
    this.details = status.details;
  }
}

/**
 * Each test client its own connection, as each proxy has: sharing grpc-js's global subchannel pool put
 * every client on one HTTP/2 session, which Node destroys after 1000 frames for streams already closed
 * (its maxSessionInvalidFrames), ending the streams of every other client on it.
 */
export const CHANNEL_OPTIONS: grpc.ClientOptions = { 'grpc.max_receive_message_length': 64 * 1024 * 1024, 'grpc.use_local_subchannel_pool': 1 };

interface Entry<R> {
  typeUrl: string;
  /** The decoded response, or why it could not be decoded (delivered as a rejection). */
  value: R | Error;
}

interface Waiter<R> {
  typeUrl: string | undefined;
  resolve: (r: R) => void;
  reject: (e: Error) => void;
  timer: NodeJS.Timeout;
}

interface SilenceWatch {
  typeUrl: string | undefined;
  fail: (e: Error) => void;
}

interface Framed {
  bytes: number;
  message: object;
}

const matches = (filter: string | undefined, typeUrl: string): boolean => filter === undefined || filter === typeUrl;
const what = (typeUrl: string | undefined): string => typeUrl ?? 'any type';

export interface AdsCallOptions<R> {
  label: string;
  /** Turns a deserialized response into the client's response type; may throw (delivered to `next()`). */
  parse: (message: object) => R;
  /** One line describing a response, for error messages. */
  describe: (r: R) => string;
  /** Default: plaintext. */
  credentials?: grpc.ChannelCredentials;
  /** Sent with the call (e.g. authorization). */
  metadata?: grpc.Metadata;
  channelOptions?: grpc.ChannelOptions;
}

export class AdsCall<Req extends object, R> {
  received = 0;
  receivedBytes = 0;
  private readonly client: grpc.Client;
  private readonly call: grpc.ClientDuplexStream<Req, Framed>;
  private readonly queue: Entry<R>[] = [];
  private readonly waiters: Waiter<R>[] = [];
  private readonly silences = new Set<SilenceWatch>();
  private status: GrpcStatus | undefined;
  private readEnded = false;
  private endError: AdsStreamError | undefined;
  private closedByUser = false;
  private readonly statusPromise: Promise<GrpcStatus>;

  constructor(
    address: string,
    method: AdsMethod,
    private readonly opts: AdsCallOptions<R>,
  ) {
    const def = adsMethod(method);
    this.client = new grpc.Client(address, opts.credentials ?? grpc.credentials.createInsecure(), { ...CHANNEL_OPTIONS, ...opts.channelOptions });
    const deserialize = (buf: Buffer): Framed => ({ bytes: buf.length, message: def.responseDeserialize(buf) });
    this.call = this.client.makeBidiStreamRequest<Req, Framed>(def.path, def.requestSerialize, deserialize, opts.metadata ?? new grpc.Metadata());
    this.statusPromise = new Promise((resolve) => {
      this.call.on('status', (s: grpc.StatusObject) => {
        this.status = { code: s.code, details: s.details };
        resolve(this.status);
        this.maybeFinish();
      });
    });
    // A non-OK status is also emitted as 'error'; it is reported through closed() and next().
    this.call.on('error', () => undefined);
    this.call.on('data', (f: Framed) => this.onData(f));
    this.call.on('end', () => {
      this.readEnded = true;
      this.maybeFinish();
    });
  }

  write(req: Req): void {
    if (this.closedByUser) throw new Error(`${this.opts.label}: send() after close()`);
    this.call.write(req);
  }

  next(typeUrl: string | undefined, timeoutMs: number): Promise<R> {
    const i = this.queue.findIndex((e) => matches(typeUrl, e.typeUrl));
    const queued = i >= 0 ? this.queue.splice(i, 1)[0] : undefined;
    if (queued !== undefined) {
      return queued.value instanceof Error ? Promise.reject(queued.value) : Promise.resolve(queued.value);
    }
    if (this.endError !== undefined) {
      return Promise.reject(new AdsStreamError(`${this.opts.label}.next(${what(typeUrl)})`, this.endError));
    }
    return new Promise<R>((resolve, reject) => {
      const waiter: Waiter<R> = {
        typeUrl,
        resolve,
        reject,
        timer: setTimeout(() => {
          this.waiters.splice(this.waiters.indexOf(waiter), 1);
          reject(new Error(`${this.opts.label}.next(${what(typeUrl)}): no response within ${timeoutMs} ms ${this.summary()}`));
        }, timeoutMs),
      };
      this.waiters.push(waiter);
    });
  }

  expectSilence(ms: number, typeUrl: string | undefined): Promise<void> {
    const context = `${this.opts.label}.expectSilence(${ms} ms, ${what(typeUrl)})`;
    const queued = this.queue.find((e) => matches(typeUrl, e.typeUrl));
    if (queued !== undefined) {
      return Promise.reject(new Error(`${context}: a response is already queued, unconsumed: ${this.describeEntry(queued)}`));
    }
    if (this.endError !== undefined && this.endError.code !== grpc.status.OK) {
      return Promise.reject(new AdsStreamError(context, this.endError));
    }
    return new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.silences.delete(watch);
        resolve();
      }, ms);
      const watch: SilenceWatch = {
        typeUrl,
        fail: (e) => {
          clearTimeout(timer);
          this.silences.delete(watch);
          reject(e);
        },
      };
      this.silences.add(watch);
    });
  }

  closed(): Promise<GrpcStatus> {
    return this.statusPromise;
  }

  pause(): void {
    this.call.pause();
  }

  resume(): void {
    this.call.resume();
  }

  close(): void {
    if (this.closedByUser) return;
    this.closedByUser = true;
    this.call.cancel();
    this.client.close();
    this.finish({ code: grpc.status.CANCELLED, details: 'closed by the test (close())' });
  }

  private onData(f: Framed): void {
    this.received += 1;
    this.receivedBytes += f.bytes;
    const typeUrl = field(f.message, 'type_url');
    const entry: Entry<R> = { typeUrl: typeof typeUrl === 'string' ? typeUrl : '', value: this.parse(f.message) };
    for (const watch of [...this.silences]) {
      if (matches(watch.typeUrl, entry.typeUrl)) {
        watch.fail(new Error(`${this.opts.label}.expectSilence(${what(watch.typeUrl)}): got a response: ${this.describeEntry(entry)}`));
      }
    }
    const waiter = this.waiters.find((w) => matches(w.typeUrl, entry.typeUrl));
    if (waiter === undefined) {
      this.queue.push(entry);
      return;
    }
    this.waiters.splice(this.waiters.indexOf(waiter), 1);
    clearTimeout(waiter.timer);
    if (entry.value instanceof Error) waiter.reject(entry.value);
    else waiter.resolve(entry.value);
  }

  private parse(message: object): R | Error {
    try {
      return this.opts.parse(message);
    } catch (e) {
      const reason = e instanceof Error ? e.message : String(e);
      return new Error(`${this.opts.label}: could not decode a response (${reason}): ${JSON.stringify(message)}`);
    }
  }

  /** The stream is over once grpc reported the status and every message before it was delivered. */
  private maybeFinish(): void {
    if (this.status !== undefined && this.readEnded) this.finish(this.status);
  }

  private finish(status: GrpcStatus): void {
    if (this.endError !== undefined) return;
    this.endError = new AdsStreamError(this.opts.label, status);
    for (const w of this.waiters.splice(0)) {
      clearTimeout(w.timer);
      w.reject(new AdsStreamError(`${this.opts.label}.next(${what(w.typeUrl)})`, status));
    }
    for (const watch of [...this.silences]) {
      if (status.code === grpc.status.OK) continue; // the timer still runs out and resolves
      watch.fail(new AdsStreamError(`${this.opts.label}.expectSilence(${what(watch.typeUrl)})`, status));
    }
  }

  private describeEntry(e: Entry<R>): string {
    return e.value instanceof Error ? e.value.message : this.opts.describe(e.value);
  }

  private summary(): string {
    const queued = this.queue.map((e) => this.describeEntry(e));
    return `(${this.received} received so far; queued, unconsumed: ${queued.length === 0 ? 'none' : queued.join('; ')})`;
  }
}
