/**
 * The classification of what the SDK throws when no S3 Control answer is involved (the loopback
 * suite in client.test.ts covers the answers), and the Job normalization's edge cases.
 */
import { describe, expect, it } from 'vitest';
import { ProviderError } from '../errors';
import { jobFrom, providerErrorFrom } from './wire';

const sysError = (name: string, code?: string) =>
  Object.assign(new Error(`${name} ${code ?? ''}`), { name }, code === undefined ? {} : { code });

describe('providerErrorFrom, without an HTTP answer', () => {
  it.each([
    // what the SDK or Node throws, kind, code
    [
      'a reset the node handler renamed TimeoutError',
      sysError('TimeoutError', 'ECONNRESET'),
      'network',
      'ECONNRESET',
    ],
    ['a broken pipe renamed TimeoutError', sysError('TimeoutError', 'EPIPE'), 'network', 'EPIPE'],
    ['a socket timeout', sysError('TimeoutError', 'ETIMEDOUT'), 'timeout', 'Timeout'],
    ['the connect timeout', sysError('TimeoutError'), 'timeout', 'Timeout'],
    ['an abort', sysError('AbortError'), 'timeout', 'Aborted'],
    ['a refused connection', sysError('Error', 'ECONNREFUSED'), 'network', 'ECONNREFUSED'],
    ['a DNS failure', sysError('Error', 'ENOTFOUND'), 'network', 'ENOTFOUND'],
    [
      'a TLS failure',
      sysError('Error', 'ERR_SSL_WRONG_VERSION_NUMBER'),
      'network',
      'ERR_SSL_WRONG_VERSION_NUMBER',
    ],
    ['no credentials in the chain', sysError('CredentialsProviderError'), 'auth', 'CredentialsProviderError'],
  ] as const)('%s is %s / %s', (_name, thrown, kind, code) => {
    const pe = providerErrorFrom(thrown);
    expect(pe).toBeInstanceOf(ProviderError);
    expect({ kind: pe?.kind, code: pe?.code, httpStatus: pe?.httpStatus }).toEqual({
      kind,
      code,
      httpStatus: null,
    });
    expect(pe?.retryable).toBe(kind !== 'auth');
  });

  it.each([
    ['a plain bug', new TypeError('x is undefined')],
    ['a string', 'boom'],
    ['null', null],
  ])('leaves %s unclassified, for the caller to rethrow', (_name, thrown) => {
    expect(providerErrorFrom(thrown)).toBeNull();
  });

  it('passes a ProviderError through unchanged', () => {
    const e = new ProviderError({ kind: 'invalid', code: 'InvalidArgument', message: 'm' });
    expect(providerErrorFrom(e)).toBe(e);
  });

  it('names an answer without a code after its status', () => {
    const e = Object.assign(new Error('UnknownError'), {
      name: 'Unknown',
      $metadata: { httpStatusCode: 503, requestId: 'R' },
    });
    expect(providerErrorFrom(e)).toMatchObject({ kind: 'server', code: 'Http503', requestId: 'R' });
  });
});

describe('jobFrom', () => {
  it('normalizes a list descriptor, which carries no reason', () => {
    expect(
      jobFrom({
        JobId: 'job-1',
        Status: 'Active',
        Priority: 3,
        Description: 'bulk-1',
        CreationTime: new Date('2026-01-02T03:04:05Z'),
      }),
    ).toEqual({
      jobId: 'job-1',
      status: 'Active',
      priority: 3,
      description: 'bulk-1',
      creationTime: '2026-01-02T03:04:05.000Z',
      statusUpdateReason: null,
      progress: null,
    });
  });

  it('turns an unparseable creation time into null rather than throwing', () => {
    expect(jobFrom({ JobId: 'job-1', CreationTime: new Date(Number.NaN) }).creationTime).toBeNull();
  });
});
