/**
 * The sandbox: one local HTTP server speaking the COS, OSS and S3 batch-job control APIs at once,
 * over one job store. A request goes: route (which provider and operation) → faults (if any are
 * configured) → signature → account header → operation → the provider's XML, with the provider's
 * request-id header and, on failure, its error shape and codes.
 *
 * @example
 * const sb = await startSandbox({ seed: DEFAULT_SEED_FILE });
 * Object.assign(process.env, sb.env); // COS_ENDPOINT, TENCENTCLOUD_SECRETID, …
 * // … run clients against it …
 * await sb.close();
 */
import { randomBytes } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { ProviderName } from '../../providers/types';
import { authenticate } from './auth';
import { cosErrorBody } from './cos/wire';
import { resolveCredentials, type SandboxCredentials } from './credentials';
import { SandboxError } from './errors';
import { type FaultDecision, FaultInjector, type FaultOptions } from './faults';
import { newJobId } from './ids';
import { DEFAULT_SUSPENDED_TIMEOUT_MS } from './lifecycle';
import { OSS_EC, ossErrorBody } from './oss/wire';
import { openPersister, type Persister, type PersisterOptions } from './persistence';
import { parseQuery, queryParams } from './query';
import { route } from './router';
import { s3ErrorBody } from './s3/wire';
import { loadSeedFile } from './seed';
import { JobStore } from './store';
import type { SeedJob } from './types';

export type { SandboxCredentials } from './credentials';
export type { FaultOptions } from './faults';
export { JobStore } from './store';
export type { SandboxJob, Scope, SeedJob } from './types';
export { scopeOf } from './types';

export interface SandboxOptions {
  /** Default 127.0.0.1. */
  host?: string;
  /** Default 0: an ephemeral port. */
  port?: number;
  /** Jobs to start with, or the path of a seed file. Ignored when `dataDir` already holds state. */
  seed?: SeedJob[] | string;
  /**
   * Persist to `<dataDir>` (snapshot `sandbox.json` and journal `sandbox.jsonl`; every change on
   * disk before its answer) and reload from it on start. One sandbox per directory.
   */
  dataDir?: string | undefined;
  persistence?: PersisterOptions;
  /** Where a dropped torn journal line is reported; default stderr. */
  warn?: (message: string) => void;
  /** How fast jobs move through the lifecycle; `false` freezes them. Default one step per 10 s. */
  pace?: { stepMs: number } | false;
  /** A Suspended job waiting longer than this fails. Default 30 days, as S3 documents. */
  suspendedTimeoutMs?: number;
  faults?: FaultOptions;
  credentials?: Partial<SandboxCredentials>;
  /** The lifecycle clock (epoch ms); tests inject one. Signatures are always checked against real time. */
  now?: () => number;
}

export interface SandboxStats {
  requests: number;
  byProvider: Record<ProviderName, number>;
  /** Keyed `provider:Operation`, e.g. `cos:UpdateJobStatus`. */
  byOperation: Record<string, number>;
  faults: number;
}

export interface Sandbox {
  url: string;
  port: number;
  credentials: SandboxCredentials;
  /** Endpoints and credentials as the project's environment variables. */
  env: Record<string, string>;
  store: JobStore;
  stats(): SandboxStats;
  setFaults(f: FaultOptions): void;
  close(): Promise<void>;
}

/** One lifecycle step: a new 1,000-task job runs from New to Complete in about a minute and a half. */
export const DEFAULT_STEP_MS = 10_000;
const MAX_BODY_BYTES = 1024 * 1024;

const REQUEST_ID_HEADER: Record<ProviderName, string> = {
  cos: 'x-cos-request-id',
  oss: 'x-oss-request-id',
  s3: 'x-amz-request-id',
};
const SERVER_HEADER: Record<ProviderName, string> = { cos: 'tencent-cos', oss: 'AliyunOSS', s3: 'AmazonS3' };

export async function startSandbox(opts: SandboxOptions = {}): Promise<Sandbox> {
  const host = opts.host ?? '127.0.0.1';
  const now = opts.now ?? Date.now;
  const credentials = resolveCredentials(opts.credentials);
  const faults = new FaultInjector(opts.faults);
  const pace = {
    stepMs: opts.pace === false ? null : (opts.pace?.stepMs ?? DEFAULT_STEP_MS),
    suspendedTimeoutMs: opts.suspendedTimeoutMs ?? DEFAULT_SUSPENDED_TIMEOUT_MS,
  };
  if (pace.stepMs !== null && !(pace.stepMs > 0)) throw new RangeError('pace.stepMs must be > 0');

  let persister: Persister | undefined;
  const store: JobStore = new JobStore({ now, pace, onChange: (jobs) => persister?.changed(jobs) });
  const seeds =
    typeof opts.seed === 'string' ? await loadSeedFile(opts.seed) : opts.seed !== undefined ? opts.seed : [];
  if (opts.dataDir) {
    const dataDir = opts.dataDir;
    // The lock is taken before anything is read, so that a second sandbox is refused, not merged.
    persister = openPersister(dataDir, () => store, {
      ...opts.persistence,
      load: (s) => {
        if (s.tornLine)
          (opts.warn ?? ((m) => process.stderr.write(`jobctl: ${m}\n`)))(
            `${dataDir}: dropped the journal's last line, cut short by a kill mid-write (that change was never answered)`,
          );
        store.restore(s.snapshot);
      },
      seed: () => store.seed(seeds, newJobId),
    });
  } else {
    store.seed(seeds, newJobId);
  }

  const stats: SandboxStats = {
    requests: 0,
    byProvider: { cos: 0, oss: 0, s3: 0 },
    byOperation: {},
    faults: 0,
  };
  let closed = false;
  const sleeping = new Set<{ timer: NodeJS.Timeout; wake: () => void }>();
  const sleep = (ms: number) =>
    new Promise<void>((resolve) => {
      const entry = {
        timer: setTimeout(() => {
          sleeping.delete(entry);
          resolve();
        }, ms),
        wake: resolve,
      };
      sleeping.add(entry);
    });

  const server = http.createServer((req, res) => {
    handle(req, res).catch(() => {
      // Only a bug gets here; answer something rather than hang the client.
      if (!res.headersSent) {
        res.writeHead(500, { 'content-type': 'text/plain' });
        res.end('sandbox internal error');
      } else res.destroy();
    });
  });

  async function handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    stats.requests++;
    const url = req.url ?? '/';
    const q = url.indexOf('?');
    const rawPath = q < 0 ? url : url.slice(0, q);
    const rawQuery = q < 0 ? '' : url.slice(q + 1);
    const query = parseQuery(rawQuery);
    const params = queryParams(query);
    const headers = flatHeaders(req.headers);
    const method = req.method ?? 'GET';
    const body = await readBody(req);

    const r = route(method, rawPath, params);
    const provider = r.provider ?? guessProvider(headers);
    const requestId = newRequestId(provider);
    const answer = (status: number, xml: string, ec?: string) => {
      if (closed || res.destroyed) return;
      const h: Record<string, string> = {
        'content-type': 'application/xml',
        'content-length': String(Buffer.byteLength(xml)),
        server: SERVER_HEADER[provider],
        [REQUEST_ID_HEADER[provider]]: requestId,
      };
      if (provider === 's3') h['x-amz-id-2'] = requestId;
      if (ec) h['x-oss-ec'] = ec;
      res.writeHead(status, h);
      res.end(xml);
    };
    const fail = (e: SandboxError) =>
      answer(e.httpStatus, errorBody(provider, e, requestId, rawPath, headers.host ?? ''), e.ec);

    stats.byProvider[provider]++;
    if (r.ok) {
      const key = `${r.provider}:${r.operation}`;
      stats.byOperation[key] = (stats.byOperation[key] ?? 0) + 1;
    }

    if (body === undefined)
      return fail(new SandboxError('EntityTooLarge', 400, 'The request body is too large'));

    const d = faults.decide();
    if (d.fault) stats.faults++;
    if (d.latencyMs > 0) await sleep(d.latencyMs);
    if (closed) return;
    if (d.fault === 'reset') {
      req.socket.destroy();
      return;
    }
    const injected = faultError(d, provider);
    if (injected) return fail(injected);
    if (d.fault === 'hang') {
      await sleep(d.hangMs);
      if (closed) return;
    }

    if (!r.ok)
      return fail(
        r.httpStatus === 405
          ? new SandboxError(
              'MethodNotAllowed',
              405,
              'The specified method is not allowed against this resource.',
            )
          : new SandboxError(
              provider === 's3' ? 'NotFoundException' : 'NoSuchResource',
              404,
              'The requested resource does not exist',
            ),
      );

    const auth = await authenticate(
      provider,
      { method, rawPath, rawQuery, query, headers, body },
      credentials,
      Date.now(),
    );
    if (!auth.ok) return fail(auth.error);

    const namespace = namespaceOf(provider, headers, auth.region);
    if (!namespace.ok) return fail(namespace.error);

    const target = targetOf(provider, headers, auth.region);
    try {
      const xml = r.handler(
        {
          scope: { provider, namespace: namespace.value, ...target },
          jobId: r.jobId,
          query: params,
          body,
          region: target.region,
        },
        store,
      );
      // No answer before what it reports is on disk (a refusal changed nothing, but may report
      // a state another request's pending change made).
      await persister?.durable();
      answer(200, xml);
    } catch (e) {
      if (e instanceof SandboxError) {
        await persister?.durable();
        return fail(e);
      }
      throw e;
    }
  }

  try {
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(opts.port ?? 0, host, () => {
        server.off('error', reject);
        resolve();
      });
    });
  } catch (e) {
    persister?.close();
    throw e;
  }
  const port = (server.address() as AddressInfo).port;
  const url = `http://${host.includes(':') ? `[${host}]` : host}:${port}`;

  return {
    url,
    port,
    credentials,
    env: {
      COS_ENDPOINT: url,
      OSS_ENDPOINT: url,
      AWS_ENDPOINT_URL_S3_CONTROL: url,
      TENCENTCLOUD_SECRETID: credentials.cos.secretId,
      TENCENTCLOUD_SECRETKEY: credentials.cos.secretKey,
      ALIBABA_CLOUD_ACCESS_KEY_ID: credentials.oss.accessKeyId,
      ALIBABA_CLOUD_ACCESS_KEY_SECRET: credentials.oss.accessKeySecret,
      AWS_ACCESS_KEY_ID: credentials.s3.accessKeyId,
      AWS_SECRET_ACCESS_KEY: credentials.s3.secretAccessKey,
    },
    store,
    stats: () => ({
      ...stats,
      byProvider: { ...stats.byProvider },
      byOperation: { ...stats.byOperation },
    }),
    setFaults: (f) => faults.configure(f),
    async close() {
      if (closed) return;
      closed = true;
      // Held answers (latency, hangs) end now: their sockets are closed below.
      for (const s of sleeping) {
        clearTimeout(s.timer);
        s.wake();
      }
      sleeping.clear();
      const done = new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeAllConnections();
      await done;
      persister?.close();
    },
  };
}

function flatHeaders(h: http.IncomingHttpHeaders): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(h)) {
    if (v !== undefined) out[k.toLowerCase()] = Array.isArray(v) ? v.join(',') : v;
  }
  return out;
}

function readBody(req: http.IncomingMessage): Promise<string | undefined> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let tooLarge = false;
    req.on('data', (c: Buffer) => {
      size += c.length;
      if (size > MAX_BODY_BYTES) tooLarge = true;
      else chunks.push(c);
    });
    req.on('end', () => resolve(tooLarge ? undefined : Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}

/** For a path that names no provider, the error speaks the dialect of the signature it carried. */
function guessProvider(headers: Record<string, string>): ProviderName {
  const auth = headers.authorization ?? '';
  if (auth.startsWith('OSS')) return 'oss';
  if (auth.startsWith('AWS4')) return 's3';
  return 'cos';
}

/**
 * Request ids shaped roughly like each provider's, so log-reading code sees familiar values: a
 * random per-process prefix and a counter, unique without drawing random bytes on every request
 * (which cost the sandbox a measurable share of each call in the benchmarks).
 */
const ID_PREFIX = randomBytes(6);
let idCounter = 0;
function newRequestId(provider: ProviderName): string {
  const n = (++idCounter).toString(16).padStart(12, '0');
  return provider === 'cos'
    ? `${ID_PREFIX.toString('base64url')}${Buffer.from(n, 'hex').toString('base64url')}`
    : `${ID_PREFIX.toString('hex')}${n}`.toUpperCase();
}

function errorBody(
  provider: ProviderName,
  e: SandboxError,
  requestId: string,
  resource: string,
  host: string,
): string {
  if (provider === 'cos') return cosErrorBody(e, requestId, resource);
  if (provider === 'oss') return ossErrorBody(e, requestId, host);
  return s3ErrorBody(e, requestId);
}

function faultError(d: FaultDecision, provider: ProviderName): SandboxError | undefined {
  const ec = provider === 'oss' ? OSS_EC.fault : undefined;
  switch (d.fault) {
    case 'slowDown':
      return new SandboxError('SlowDown', 503, 'Please reduce your request rate.', ec);
    case 'serverError':
      return new SandboxError(
        provider === 's3' ? 'InternalServiceException' : 'InternalError',
        500,
        'We encountered an internal error. Please try again.',
        ec,
      );
    case 'throttle':
      return new SandboxError(
        provider === 's3' ? 'TooManyRequestsException' : 'TooManyRequests',
        429,
        'Too many requests; slow down.',
        ec,
      );
    default:
      return undefined;
  }
}

/**
 * The parts of the target a request carries besides its namespace: S3's region is its signature's;
 * COS's region and UIN are in the host a client addresses (`{uin}.cos-control.{region}.…`), absent
 * when it speaks to a bare address (then the request does not say, and every region matches).
 */
function targetOf(
  provider: ProviderName,
  headers: Record<string, string>,
  signedRegion: string | null,
): { region: string | null; account: string | null } {
  if (provider !== 'cos') return { region: signedRegion, account: null };
  const m = /^([0-9]{1,64})\.cos-control\.([a-z0-9-]{1,64})\./.exec(headers.host ?? '');
  return m ? { region: m[2]!, account: m[1]! } : { region: null, account: null };
}

/**
 * The namespace the request addresses: COS by `x-cos-appid`, S3 by `x-amz-account-id`, OSS by the
 * signature's region. Any well-formed value is accepted; an unknown one simply has no jobs.
 */
function namespaceOf(
  provider: ProviderName,
  headers: Record<string, string>,
  region: string | null,
): { ok: true; value: string } | { ok: false; error: SandboxError } {
  if (provider === 'cos') {
    const appId = headers['x-cos-appid'];
    if (!appId)
      return { ok: false, error: new SandboxError('InvalidArgument', 400, 'x-cos-appid cannot be empty') };
    if (!/^[0-9]{1,64}$/.test(appId))
      return {
        ok: false,
        error: new SandboxError('InvalidArgument', 400, 'x-cos-appid must be 1-64 digits'),
      };
    return { ok: true, value: appId };
  }
  if (provider === 's3') {
    const account = headers['x-amz-account-id'];
    if (!account)
      return {
        ok: false,
        error: new SandboxError(
          'InvalidRequest',
          400,
          'Missing required header for this request: x-amz-account-id',
        ),
      };
    if (!/^[0-9]{12}$/.test(account))
      return {
        ok: false,
        error: new SandboxError('InvalidRequest', 400, 'x-amz-account-id must be a 12-digit account id'),
      };
    return { ok: true, value: account };
  }
  if (!region)
    return {
      ok: false,
      error: new SandboxError(
        'InvalidArgument',
        400,
        'the signature names no region',
        OSS_EC.invalidArgument,
      ),
    };
  return { ok: true, value: region };
}
