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

/**
 * The largest answer read. Control answers are a few KB (a ListJobs page of 1,000 jobs stays well
 * under this); anything larger is a misbehaving endpoint, and reading it whole would cost memory
 * without bound, so the socket is dropped as soon as it passes the cap.
 */
export const MAX_RESPONSE_BYTES = 1024 * 1024;

/**
 * One request: resolves with the answer, or rejects with a `ProviderError` for the network, the
 * deadline (`Timeout`), the caller's abort (`Aborted`) or an answer past `MAX_RESPONSE_BYTES`.
 */
export function send(req: HttpRequest, opts: SendOptions = {}): Promise<HttpResponse> {
  const timeoutMs = opts.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  const caller = opts.signal;
  // A plain timer per call, not AbortSignal.timeout/any: on Node 20 those signals stay alive until
  // their timeout fires, and with a few thousand calls in flight per window each new one cost
  // 20–130 µs (measured: bench notes in the report), more than the rest of the client's work.
  return new Promise((resolve, reject) => {
    let settled = false;
    const done = () => {
      settled = true;
      clearTimeout(timer);
      caller?.removeEventListener('abort', onAbort);
    };
    const fail = (err: ProviderError) => {
      if (settled) return;
      done();
      r.destroy();
      reject(err);
    };
    const onAbort = () =>
      fail(new ProviderError({ kind: 'timeout', code: 'Aborted', message: 'request aborted' }));
    const timer = setTimeout(
      () =>
        fail(
          new ProviderError({
            kind: 'timeout',
            code: 'Timeout',
            message: `no response within ${timeoutMs} ms`,
          }),
        ),
      timeoutMs,
    );
    // An open request keeps the process alive through its socket; the timer need not.
    timer.unref();
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
        let size = 0;
        const tooLarge = () =>
          fail(
            new ProviderError({
              kind: 'server',
              code: 'ResponseTooLarge',
              message: `the answer exceeds ${MAX_RESPONSE_BYTES} bytes`,
              httpStatus: res.statusCode ?? null,
            }),
          );
        // A declared length past the cap is refused before a byte of it is read.
        if (Number(res.headers['content-length'] ?? 0) > MAX_RESPONSE_BYTES) return tooLarge();
        res.on('data', (c: Buffer) => {
          size += c.length;
          if (size > MAX_RESPONSE_BYTES) tooLarge();
          else chunks.push(c);
        });
        res.on('end', () => {
          if (settled) return;
          done();
          resolve({
            status: res.statusCode ?? 0,
            headers: res.headers,
            body: Buffer.concat(chunks).toString('utf8'),
          });
        });
        res.on('error', (e) => fail(networkError(e)));
        res.on('aborted', () => fail(networkError(new Error('response aborted'))));
      },
    );
    if (req.body !== undefined) r.setHeader('content-length', Buffer.byteLength(req.body));
    else if (req.method === 'POST' || req.method === 'PUT') r.setHeader('content-length', 0);
    r.on('error', (e) => fail(networkError(e)));
    if (caller?.aborted) return onAbort();
    caller?.addEventListener('abort', onAbort, { once: true });
    r.end(req.body);
  });
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
