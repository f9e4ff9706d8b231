/**
 * The one transport the hand-written providers share: node:http(s) with keep-alive agents
 * (a control call is a few hundred bytes; a new TLS handshake per call would dominate it), a
 * per-request timeout, and network trouble mapped to retryable `ProviderError`s.
 */
import http from 'node:http';
import https from 'node:https';
import { ProviderError } from './errors';

export interface HttpRequest {
  method: 'GET' | 'POST' | 'PUT' | 'DELETE';
  /** Absolute URL; its path and query must already be encoded exactly as signed. */
  url: string;
  /**
   * The same URL already split, when the caller has it (a client caches its endpoint's parts per
   * target): the transport then skips parsing `url` on every call. Must name the same URL.
   */
  target?: HttpTarget | undefined;
  headers: Record<string, string>;
  body?: string | undefined;
}

export interface HttpTarget {
  protocol: 'http:' | 'https:';
  hostname: string;
  /** Absent for the scheme's default port. */
  port?: number | undefined;
  /** Path and query, encoded as signed. */
  path: string;
}

export interface HttpResponse {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: string;
}

export interface SendOptions {
  timeoutMs?: number | undefined;
  signal?: AbortSignal | undefined;
}

export const DEFAULT_TIMEOUT_MS = 10_000;

// As many idle sockets kept as may be busy: a batch's concurrent calls (10 by default) end
// together, and every socket closed then would be a new connection for the next batch.
const agentOptions = { keepAlive: true, maxSockets: 64, maxFreeSockets: 64, scheduling: 'lifo' } as const;
const httpAgent = new http.Agent(agentOptions);
const httpsAgent = new https.Agent(agentOptions);

/** `url` split as `http.request` wants it. */
export function httpTarget(url: string): HttpTarget {
  const u = new URL(url);
  return {
    // Anything but http(s) is refused by http.request itself, as it always was.
    protocol: u.protocol as HttpTarget['protocol'],
    hostname: u.hostname,
    port: u.port === '' ? undefined : Number(u.port),
    path: u.pathname + u.search,
  };
}

export function send(req: HttpRequest, opts: SendOptions = {}): Promise<HttpResponse> {
  return new Promise((resolve, reject) => {
    new Exchange(req, opts.timeoutMs ?? DEFAULT_TIMEOUT_MS, opts.signal, resolve, reject).start();
  });
}

/**
 * One request in flight: settles its promise exactly once — with the answer, or with a
 * `ProviderError` for the network, the deadline or the caller's abort — and then lets go of its
 * deadline and abort listener. State and steps live on the object rather than in closures made
 * for every call.
 */
class Exchange implements Deadline {
  readonly at: number;
  private settled = false;
  private r: http.ClientRequest | undefined;
  private onAbort: (() => void) | undefined;

  constructor(
    private readonly req: HttpRequest,
    private readonly timeoutMs: number,
    private readonly signal: AbortSignal | undefined,
    private readonly resolve: (res: HttpResponse) => void,
    private readonly reject: (err: ProviderError) => void,
  ) {
    this.at = performance.now() + timeoutMs;
  }

  start(): void {
    const req = this.req;
    const target = req.target ?? httpTarget(req.url);
    const isHttps = target.protocol === 'https:';
    const r = (isHttps ? https : http).request(
      {
        method: req.method,
        protocol: target.protocol,
        hostname: target.hostname,
        port: target.port,
        path: target.path,
        // Copied by http.request into the request (never modified here): the caller's object stays its own.
        headers: req.headers,
        agent: isHttps ? httpsAgent : httpAgent,
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          // A control answer is a few hundred bytes: nearly always one chunk, no copy needed.
          const body = (chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks)).toString('utf8');
          this.succeed({ status: res.statusCode ?? 0, headers: res.headers, body });
        });
        res.on('error', (e) => this.fail(networkError(e)));
        res.on('aborted', () => this.fail(networkError(new Error('response aborted'))));
      },
    );
    this.r = r;
    if (req.body !== undefined) r.setHeader('content-length', Buffer.byteLength(req.body));
    else if (req.method === 'POST' || req.method === 'PUT') r.setHeader('content-length', 0);
    watch(this);
    const signal = this.signal;
    // Only a call that was given a signal pays for listening to it.
    if (signal !== undefined) {
      this.onAbort = () => this.abort();
      signal.addEventListener('abort', this.onAbort, { once: true });
      if (signal.aborted) this.abort();
    }
    r.on('error', (e) => this.fail(networkError(e)));
    r.end(req.body);
  }

  /** The deadline passed (called by the deadline timer). */
  expire(): void {
    this.fail(
      new ProviderError({
        kind: 'timeout',
        code: 'Timeout',
        message: `no response within ${this.timeoutMs} ms`,
      }),
    );
    this.r?.destroy();
  }

  private abort(): void {
    this.fail(new ProviderError({ kind: 'timeout', code: 'Aborted', message: 'request aborted' }));
    this.r?.destroy();
  }

  private succeed(res: HttpResponse): void {
    if (this.settled) return;
    this.settled = true;
    this.cleanup();
    this.resolve(res);
  }

  private fail(err: ProviderError): void {
    if (this.settled) return;
    this.settled = true;
    this.cleanup();
    this.reject(err);
  }

  private cleanup(): void {
    pending.delete(this);
    if (this.onAbort !== undefined) this.signal?.removeEventListener('abort', this.onAbort);
  }
}

/**
 * Every request's deadline on one timer. A timer of its own per request would be created and
 * cleared on every call; here a call only enters and leaves a set, and the one timer, armed for
 * the earliest deadline, wakes only when a deadline may have passed — rarely, since nearly every
 * call ends long before. Unreferenced: an open request keeps the process alive through its socket.
 */
interface Deadline {
  /** On the monotonic clock (`performance.now()`), as timers are. */
  at: number;
  expire(): void;
}
const pending = new Set<Deadline>();
let wakeAt = Number.POSITIVE_INFINITY;
let wake: NodeJS.Timeout | undefined;

function watch(d: Deadline): void {
  pending.add(d);
  if (d.at < wakeAt) arm(d.at);
}

function arm(at: number): void {
  clearTimeout(wake);
  wakeAt = at;
  wake = setTimeout(sweep, Math.max(0, Math.ceil(at - performance.now())));
  wake.unref();
}

function sweep(): void {
  wake = undefined;
  wakeAt = Number.POSITIVE_INFINITY;
  const now = performance.now();
  let next = Number.POSITIVE_INFINITY;
  for (const d of pending) {
    if (d.at <= now) {
      pending.delete(d);
      d.expire();
    } else if (d.at < next) next = d.at;
  }
  if (next !== Number.POSITIVE_INFINITY && next < wakeAt) arm(next);
}

function networkError(e: Error & { code?: string }): ProviderError {
  return new ProviderError({
    kind: 'network',
    code: e.code ?? 'NetworkError',
    message: e.message,
    cause: e,
  });
}

/** Close idle keep-alive sockets, so that a CLI or test process can exit at once. */
export function closeIdleConnections(): void {
  httpAgent.destroy();
  httpsAgent.destroy();
}
