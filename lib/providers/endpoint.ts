/**
 * An endpoint template (`{account}`, `{region}` placeholders, or a plain `http://127.0.0.1:PORT`)
 * checked once, when a client is created, and resolved once per target: a client then signs and
 * sends without parsing a URL per call. A template that can never be an origin is configuration,
 * refused at once; a target that cannot fill it is that transition's fault (`invalid`).
 */

import { ProviderError, redact } from './errors';
import { EXAMPLE_TARGETS } from './examples';
import type { HttpTarget } from './http';
import { fillEndpoint } from './rules';
import type { Target } from './types';

export interface Origin {
  /** `scheme://host[:port]`, to which the encoded path and query are appended. */
  base: string;
  /** Exactly the Host header node sends: the port only when it is not the scheme's default. */
  host: string;
  protocol: HttpTarget['protocol'];
  hostname: string;
  port: number | undefined;
}

// A controller talks to a handful of (region, account) pairs; the bound only guards against a
// process that is fed endless distinct targets.
const MAX_CACHED = 1024;

/** @throws Error naming the provider when the template is not an http(s) origin. */
export function endpointResolver(provider: string, template: string): (target: Target) => Origin {
  // Named in errors without its userinfo: `http://user:password@host` must not reach a log.
  const shown = JSON.stringify(redact(template));
  let sample: URL;
  try {
    sample = new URL(fillEndpoint(template, EXAMPLE_TARGETS.cos.region, EXAMPLE_TARGETS.cos.account));
  } catch {
    throw new Error(`the ${provider} endpoint ${shown} is not a URL template`);
  }
  if (sample.protocol !== 'https:' && sample.protocol !== 'http:')
    throw new Error(`the ${provider} endpoint ${shown} must be http:// or https://`);
  if (sample.pathname !== '/' || sample.search || sample.hash || sample.username || sample.password)
    throw new Error(`the ${provider} endpoint ${shown} must be an origin only (no path, query or user)`);

  const cache = new Map<string, Origin>();
  return (target) => {
    const key = `${target.region}\n${target.account ?? ''}`;
    let origin = cache.get(key);
    if (origin === undefined) {
      let url: URL;
      try {
        url = new URL(fillEndpoint(template, target.region, target.account));
      } catch (e) {
        throw new ProviderError({
          kind: 'invalid',
          code: 'InvalidTarget',
          message: `no ${provider} endpoint for this target: ${(e as Error).message}`,
        });
      }
      origin = {
        base: url.origin,
        host: url.host,
        protocol: url.protocol as HttpTarget['protocol'],
        hostname: url.hostname,
        port: url.port === '' ? undefined : Number(url.port),
      };
      if (cache.size >= MAX_CACHED) cache.clear();
      cache.set(key, origin);
    }
    return origin;
  };
}
