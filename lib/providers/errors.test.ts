/**
 * The one redaction every ProviderError's text passes through (issue 12.2): what a provider may
 * echo back, and what must remain readable.
 */
import { describe, expect, it } from 'vitest';
import { errorKind, isClockSkew, kindForStatus, ProviderError, redact } from './errors';

const COS_AUTH =
  'q-sign-algorithm=sha1&q-ak=AKIDz8krbsJ5yKBZQpn74WFkmLPx3gnPhESA&q-sign-time=1790000000;1790000900&q-key-time=1790000000;1790000900&q-header-list=host;x-cos-appid&q-url-param-list=requestedjobstatus&q-signature=0123456789abcdef0123456789abcdef01234567';
const OSS_AUTH =
  'OSS4-HMAC-SHA256 Credential=LTAI5tExampleKeyId/20261206/cn-hangzhou/oss/aliyun_v4_request,AdditionalHeaders=host,Signature=' +
  'a'.repeat(64);
const AWS_AUTH =
  'AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20261206/us-east-1/s3/aws4_request, SignedHeaders=host;x-amz-date, Signature=' +
  'b'.repeat(64);

describe('redact', () => {
  it.each([
    [
      'a COS auth string',
      `bad auth ${COS_AUTH}`,
      ['AKIDz8krbsJ5', '0123456789abcdef', '1790000000;1790000900'],
    ],
    ['an OSS V4 Authorization', `Authorization: ${OSS_AUTH}`, ['LTAI5tExampleKeyId', 'a'.repeat(64)]],
    [
      'a SigV4 Authorization, unlabelled',
      `sent ${AWS_AUTH} rejected`,
      ['AKIAIOSFODNN7EXAMPLE', 'b'.repeat(64)],
    ],
    ['a COS session token header', 'x-cos-security-token: cosTokenValue123456', ['cosTokenValue123456']],
    ['an OSS session token header', 'x-oss-security-token=CAIS.ossToken+abc/def', ['CAIS.ossToken+abc/def']],
    ['an AWS session token field', 'X-Amz-Security-Token=IQoJb3JpZ2luX2VjE/x+y==', ['IQoJb3JpZ2luX2VjE']],
    ['URL userinfo', 'connect to http://user:hunter2@10.0.0.1:9000 failed', ['user:hunter2', 'hunter2']],
    ['a bare signature hex', `expected ${'c'.repeat(40)} got`, ['c'.repeat(40)]],
    ['an Alibaba STS key id', 'key STS.NUgYrLnoC37mZZCNnAbez2 denied', ['STS.NUgYrLnoC37mZZCNnAbez2']],
  ])('removes %s', (_name, text, secrets) => {
    const out = redact(text);
    for (const s of secrets) expect(out).not.toContain(s);
    expect(out).toContain('[redacted]');
  });

  it("removes the caller's own values in any form they are echoed", () => {
    const secret = 'my/Secret+Key=42';
    const out = redact(`a ${secret} b ${encodeURIComponent(secret)} c`, [secret]);
    expect(out).toBe('a [redacted] b [redacted] c');
  });

  it('leaves ordinary provider text alone', () => {
    for (const text of [
      'The specified job does not exist.',
      'Error with the job status change',
      'no response within 10000 ms',
      'connect ECONNREFUSED 127.0.0.1:9',
      'the answer exceeds 1048576 bytes',
    ])
      expect(redact(text)).toBe(text);
  });

  it('is applied to every ProviderError as it is built', () => {
    const e = new ProviderError({ kind: 'auth', code: 'SignatureDoesNotMatch', message: `sent ${COS_AUTH}` });
    expect(e.message).not.toContain('q-signature=0123');
    expect(e.withoutLiterals(['SignatureDoesNotMatch']).code).toBe('[redacted]');
  });
});

describe('classification', () => {
  it.each([
    ['RequestTimeTooSkewed', 'x', true],
    ['AccessDenied', 'Request has expired', true],
    ['AccessDenied', 'Access Denied.', false],
    ['ExpiredToken', 'The provided token has expired.', false],
  ])('%s "%s" is clock skew: %s', (code, message, skew) => {
    expect(isClockSkew(code, message)).toBe(skew);
    if (skew)
      expect(errorKind({ AccessDenied: 'auth', RequestTimeTooSkewed: 'auth' }, code, 403, message)).toBe(
        'config',
      );
  });

  it.each([301, 302, 303, 307, 308])('a %i is configuration, never a refusal', (status) => {
    expect(kindForStatus(status)).toBe('config');
  });
});
