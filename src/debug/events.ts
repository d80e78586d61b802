/**
 * `/debug/events`: server-sent events that tell the debug UI when to read the JSON views again.
 * Changes (a new model, a proxy come or gone, an ACK, a NACK) are coalesced: an event goes at once
 * when the last one is at least a second old, otherwise when that second is up, so a busy mesh sends
 * at most one a second. An event carries no data of its own beyond a counter (the epoch) and the
 * time: the views are read, and cached per epoch, as for any other client.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';

/** At most one event per this many milliseconds. */
const EVENT_INTERVAL_MS = 1_000;
/** Open event streams at most; one more is answered 503 (each holds a socket and a listener). */
const MAX_EVENT_STREAMS = 64;

export interface ChangeEvent {
  /** Counts the events sent since start; the heavy views are cached per epoch. */
  readonly epoch: number;
  /** Unix milliseconds. */
  readonly at: number;
}

/** Coalesces change notifications into events, at most one per `intervalMs`. */
export class ChangeFeed {
  private readonly listeners = new Set<(e: ChangeEvent) => void>();
  private timer: NodeJS.Timeout | undefined;
  private lastAt = -Infinity;
  private current: ChangeEvent = { epoch: 0, at: Date.now() };
  private closed = false;

  constructor(
    private readonly intervalMs = EVENT_INTERVAL_MS,
    private readonly now: () => number = Date.now,
  ) {}

  /** The last event sent (epoch 0 before any). */
  get latest(): ChangeEvent {
    return this.current;
  }

  get subscribers(): number {
    return this.listeners.size;
  }

  /** Something the views show may have changed. Cheap; never throws. */
  notify(): void {
    if (this.closed || this.timer !== undefined) return;
    // Even at once, on a timer: a synchronous burst (a rebuild that opens and acks in one turn) is one event.
    const wait = Math.max(0, this.lastAt + this.intervalMs - this.now());
    this.timer = setTimeout(() => this.emit(), wait);
    this.timer.unref();
  }

  subscribe(listener: (e: ChangeEvent) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  close(): void {
    this.closed = true;
    clearTimeout(this.timer);
    this.timer = undefined;
    this.listeners.clear();
  }

  private emit(): void {
    this.timer = undefined;
    const at = this.now();
    // A timer may fire a millisecond before the clock says its wait is over: wait out the rest.
    if (at < this.lastAt + this.intervalMs) {
      this.timer = setTimeout(() => this.emit(), this.lastAt + this.intervalMs - at);
      this.timer.unref();
      return;
    }
    this.lastAt = at;
    this.current = { epoch: this.current.epoch + 1, at };
    for (const l of [...this.listeners]) l(this.current);
  }
}

function frame(e: ChangeEvent): string {
  return `id: ${e.epoch}\nevent: change\ndata: ${JSON.stringify(e)}\n\n`;
}

/**
 * Answers one event stream: headers, a first `change` event with the current epoch (so a client
 * that reconnects reads the views again), then one per coalesced change until the client goes away
 * or the server closes the connection.
 */
export function serveEvents(req: IncomingMessage, res: ServerResponse, feed: ChangeFeed): void {
  if (feed.subscribers >= MAX_EVENT_STREAMS) {
    const body = `too many event streams open (${MAX_EVENT_STREAMS}); close one, or poll the JSON views\n`;
    res.writeHead(503, { 'Content-Type': 'text/plain; charset=utf-8', 'Content-Length': Buffer.byteLength(body), 'Retry-After': '5' });
    res.end(body);
    return;
  }
  res.writeHead(200, {
    'Content-Type': 'text/event-stream; charset=utf-8',
    'Cache-Control': 'no-store',
    'X-Content-Type-Options': 'nosniff',
  });
  res.write(`retry: ${EVENT_INTERVAL_MS}\n${frame(feed.latest)}`);
  const unsubscribe = feed.subscribe((e) => res.write(frame(e)));
  const end = (): void => {
    unsubscribe();
    if (!res.writableEnded) res.end();
  };
  req.once('close', end);
  res.once('close', end);
  res.once('error', end);
}
