/**
 * The per-call benchmarks' common ground: the sandbox with its lifecycle frozen, fresh Suspended
 * jobs for every timed loop (so that each UpdateJobStatus → Ready does the same server work on
 * every side: find the job, move it, answer), and the raw baseline — a keep-alive
 * `http.request` that sends bytes prepared in advance and reads the answer into a string.
 *
 * The sandbox runs in the benchmark's own process. In a second process every call would add a
 * cross-process wake-up, and on a small shared machine the scheduling noise of those wake-ups
 * swamps the client-side cost being measured; in one process client and server work are
 * serialized on one thread, so both sides of a ratio pay the same server cost and nothing else.
 */
import http from 'node:http';
import { resolveCredentials } from '../lib/local/sandbox/credentials';
import { newJobId } from '../lib/local/sandbox/ids';
import { type SandboxCredentials, startSandbox } from '../lib/local/sandbox/server';
import type { HttpRequest, HttpResponse } from '../lib/providers/http';
import type { JobControl, ProviderName, Target } from '../lib/providers/types';
import { seedFresh } from './targets';

export { TARGETS } from './targets';

export interface CallSandbox {
  url: string;
  credentials: SandboxCredentials;
  /** `n` new Suspended jobs in the provider's example namespace; their ids, in order. */
  freshJobs(provider: ProviderName, n: number): Promise<string[]>;
  close(): Promise<void>;
}

export async function startCallSandbox(): Promise<CallSandbox> {
  const sb = await startSandbox({ pace: false });
  return {
    url: sb.url,
    credentials: sb.credentials,
    freshJobs: async (provider, n) => seedFresh(sb.store, provider, n),
    close: () => sb.close(),
  };
}

/**
 * A server that answers every request at once with one fixed, valid UpdateJobStatusResult and
 * checks nothing: what a round trip costs without the sandbox's own work (routing, signature
 * check, job store, XML). Only for telling the client's cost apart from the server's.
 */
export async function startEchoServer(): Promise<CallSandbox> {
  const server = http.createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      // The job id asked about, echoed back: clients refuse an answer about another job.
      const url = req.url ?? '';
      const m = /^\/jobs\/([^/?]+)/.exec(url) ?? /[?&]batchJobId=([^&]*)/.exec(url);
      const id = m ? decodeURIComponent(m[1]!) : 'echo';
      const body = `<?xml version="1.0" encoding="UTF-8"?>\n<UpdateJobStatusResult><JobId>${id}</JobId><Status>Ready</Status></UpdateJobStatusResult>`;
      res.writeHead(200, {
        'content-type': 'application/xml',
        'content-length': Buffer.byteLength(body),
        'x-cos-request-id': 'echo',
      });
      res.end(body);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  return {
    url: `http://127.0.0.1:${port}`,
    credentials: resolveCredentials(),
    freshJobs: async (provider, n) => Array.from({ length: n }, () => newJobId(provider)),
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

/** The baseline's own keep-alive agent, configured as the shared transport's. */
export const rawAgent = new http.Agent({
  keepAlive: true,
  maxSockets: 64,
  maxFreeSockets: 64,
  scheduling: 'lifo',
});

export interface PreparedRequest {
  method: string;
  hostname: string;
  port: number;
  path: string;
  headers: Record<string, string>;
  body?: string | undefined;
}

/** A request captured from a client (its URL, headers and body, as the transport received them). */
export function prepared(req: HttpRequest): PreparedRequest {
  const url = new URL(req.url);
  const headers = { ...req.headers };
  // What the shared transport adds: the same bytes go on the wire.
  if (req.body !== undefined) headers['content-length'] = String(Buffer.byteLength(req.body));
  else if (req.method === 'POST' || req.method === 'PUT') headers['content-length'] = '0';
  return {
    method: req.method,
    hostname: url.hostname,
    port: Number(url.port),
    path: url.pathname + url.search,
    headers,
    body: req.body,
  };
}

/** The raw baseline: one keep-alive POST of prepared bytes; resolves with the answer's body. */
export function rawSend(p: PreparedRequest): Promise<string> {
  return new Promise((resolve, reject) => {
    const r = http.request(
      {
        method: p.method,
        hostname: p.hostname,
        port: p.port,
        path: p.path,
        headers: p.headers,
        agent: rawAgent,
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          const body = Buffer.concat(chunks).toString('utf8');
          if (res.statusCode !== 200)
            reject(new Error(`raw request answered ${res.statusCode}: ${body.slice(0, 200)}`));
          else resolve(body);
        });
        res.on('error', reject);
      },
    );
    r.on('error', reject);
    r.end(p.body);
  });
}

/** Await `call(i)` for i = 0…n-1, one after another: per-call latency, not throughput. */
export async function sequential(n: number, call: (i: number) => Promise<unknown>): Promise<void> {
  for (let i = 0; i < n; i++) await call(i);
}

/** Calls per timed loop and repeats, full or `--quick`. */
export const callCounts = (quick: boolean) =>
  quick ? { calls: 50, repeats: 30 } : { calls: 100, repeats: 100 };

/**
 * The bytes a client would send for each job, signed now (the sandbox allows 15 minutes of skew):
 * the client is built on a transport that records the request and answers as the provider would.
 */
export async function captureRequests(
  client: (transport: (req: HttpRequest) => Promise<HttpResponse>) => JobControl,
  target: Target,
  ids: string[],
): Promise<PreparedRequest[]> {
  const out: PreparedRequest[] = [];
  // The client checks that an answer names the job it asked about.
  let current = '';
  const capture = client(async (req) => {
    out.push(prepared(req));
    return {
      status: 200,
      headers: {},
      body: `<UpdateJobStatusResult><JobId>${current}</JobId><Status>Ready</Status></UpdateJobStatusResult>`,
    };
  });
  for (const id of ids) {
    current = id;
    await capture.updateStatus(target, id, 'Ready', undefined);
  }
  return out;
}
