/**
 * One signed call over the shared transport, for the providers whose wire jobctl speaks itself
 * (COS, OSS; S3 goes through the AWS SDK). What differs per provider is passed in — how to sign,
 * which header carries the request id, how an error body decodes — and what must not differ lives
 * here once: the status classes, the redirect refusal, the single re-sign on the server's clock after
 * a skew refusal, and keys scrubbed from any error that could echo them.
 */

import type { Origin } from './endpoint';
import { clockOffsetFrom, isClockSkew, ProviderError, redirectError } from './errors';
import { type HttpRequest, type HttpResponse, type SendOptions, send } from './http';
import type { CallOptions, Credentials } from './types';
import { type AnswerMeta, headerText, malformed } from './xml';

export type Transport = (req: HttpRequest, opts: SendOptions) => Promise<HttpResponse>;
export type Decode<T> = (body: string, meta: AnswerMeta) => T;

export interface SignedWire {
  /** As errors name it: `COS`, `OSS`. */
  label: string;
  requestIdHeader: string;
  decodeError(status: number, headers: HttpResponse['headers'], body: string): ProviderError;
}

export interface SignedRequest {
  method: HttpRequest['method'];
  origin: Origin;
  /** Encoded path and query, appended to the origin. */
  path: string;
  /** The headers to send, signed for `serverNowMs` (our clock corrected by what a skew refusal taught). */
  sign(creds: Credentials, serverNowMs: number): Record<string, string>;
}

/** A client's own options, as COS's and OSS's factories take them. */
export interface SignedCallOptions {
  credentials: () => Promise<Credentials>;
  /** Default per-request timeout (the transport's default when absent); a call's own `timeoutMs` wins. */
  timeoutMs?: number | undefined;
  /** Clock for the signature, epoch ms; tests pin it. */
  now?: (() => number) | undefined;
  /** Replaces the HTTP transport (an in-process sandbox, a test, a benchmark capturing the bytes). */
  transport?: Transport | undefined;
}

/** A caller per client: the clock offset it learns is the client's, shared by its calls. */
export function signedCaller(wire: SignedWire, opts: SignedCallOptions) {
  const transport = opts.transport ?? send;
  const now = opts.now ?? Date.now;
  // How far the server's clock is ahead of ours, learnt from a skew refusal.
  let clockOffsetMs = 0;

  return async function call<T>(
    req: SignedRequest,
    decode: Decode<T>,
    callOpts: CallOptions | undefined,
  ): Promise<T> {
    const creds = await opts.credentials();
    const literals = [creds.accessKeyId, creds.secretAccessKey, creds.sessionToken ?? ''];
    const { origin, path } = req;
    try {
      for (let attempt = 0; ; attempt++) {
        const localNow = now();
        const res = await transport(
          {
            method: req.method,
            url: origin.base + path,
            target: { protocol: origin.protocol, hostname: origin.hostname, port: origin.port, path },
            headers: req.sign(creds, localNow + clockOffsetMs),
          },
          { timeoutMs: callOpts?.timeoutMs ?? opts.timeoutMs, signal: callOpts?.signal },
        );
        const meta = { httpStatus: res.status, requestId: headerText(res.headers[wire.requestIdHeader]) };
        if (res.status >= 200 && res.status < 300) return decode(res.body, meta);
        if (res.status >= 300 && res.status < 400)
          throw redirectError(wire.label, res.status, origin.base, meta.requestId);
        const err = wire.decodeError(res.status, res.headers, res.body);
        // Our clock is off: sign again on the server's clock, once (see `clockOffsetFrom`).
        const offset = isClockSkew(err.code, err.message) ? clockOffsetFrom(res.headers, localNow) : null;
        if (attempt > 0 || offset === null) throw err;
        clockOffsetMs = offset;
      }
    } catch (e) {
      throw e instanceof ProviderError ? e.withoutLiterals(literals) : e;
    }
  };
}

/** An answer about another job than the one asked about cannot be trusted as this job's. */
export const sameJob =
  <R extends { jobId: string }>(label: string, jobId: string, decode: Decode<R>): Decode<R> =>
  (body, meta) => {
    const r = decode(body, meta);
    if (r.jobId !== jobId) throw malformed(label, 'an answer about another job', meta);
    return r;
  };
