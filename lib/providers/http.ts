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
  headers: Record<string, string>;
  body?: string | undefined;
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

const agentOptions = { keepAlive: true, maxSockets: 64, maxFreeSockets: 16, scheduling: 'lifo' } as const;
const httpAgent = new http.Agent(agentOptions);
const httpsAgent = new https.Agent(agentOptions);

export function send(req: HttpRequest, opts: SendOptions = {}): Promise<HttpResponse> {
  const timeoutMs = opts.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  return new Promise((resolve, reject) => {
    const url = new URL(req.url);
    const isHttps = url.protocol === 'https:';
    const headers: Record<string, string> = { ...req.headers };
    if (req.body !== undefined) headers['content-length'] = String(Buffer.byteLength(req.body));
    else if (req.method === 'POST' || req.method === 'PUT') headers['content-length'] = '0';

    let settled = false;
    const fail = (err: ProviderError) => {
      if (settled) return;
      settled = true;
      cleanup();
      reject(err);
    };
    const r = (isHttps ? https : http).request(
      {
        method: req.method,
        protocol: url.protocol,
        hostname: url.hostname,
        port: url.port || undefined,
        path: url.pathname + url.search,
        headers,
        agent: isHttps ? httpsAgent : httpAgent,
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          if (settled) return;
          settled = true;
          cleanup();
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
    const timer = setTimeout(() => {
      fail(
        new ProviderError({
          kind: 'timeout',
          code: 'Timeout',
          message: `no response within ${timeoutMs} ms`,
        }),
      );
      r.destroy();
    }, timeoutMs);
    const onAbort = () => {
      fail(new ProviderError({ kind: 'timeout', code: 'Aborted', message: 'request aborted' }));
      r.destroy();
    };
    opts.signal?.addEventListener('abort', onAbort, { once: true });
    if (opts.signal?.aborted) onAbort();
    function cleanup() {
      clearTimeout(timer);
      opts.signal?.removeEventListener('abort', onAbort);
    }
    r.on('error', (e) => fail(networkError(e)));
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
