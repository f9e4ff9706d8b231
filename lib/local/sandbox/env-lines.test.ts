/** `jobctl sandbox`'s output: one `KEY=value` line per variable, endpoints pointing at the sandbox. */
import { afterAll, beforeAll, expect, it } from 'vitest';
import { sandboxEnvLines } from './env-lines';
import { type Sandbox, startSandbox } from './server';

let sb: Sandbox;
beforeAll(async () => {
  sb = await startSandbox({ pace: false });
});
afterAll(async () => sb.close());

it('prints every endpoint and credential as KEY=value', () => {
  const lines = sandboxEnvLines(sb);
  const env = Object.fromEntries(lines.map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)]));
  expect(Object.keys(env).sort()).toEqual([
    'ALIBABA_CLOUD_ACCESS_KEY_ID',
    'ALIBABA_CLOUD_ACCESS_KEY_SECRET',
    'AWS_ACCESS_KEY_ID',
    'AWS_ENDPOINT_URL_S3_CONTROL',
    'AWS_SECRET_ACCESS_KEY',
    'COS_ENDPOINT',
    'OSS_ENDPOINT',
    'TENCENTCLOUD_SECRETID',
    'TENCENTCLOUD_SECRETKEY',
  ]);
  const url = `http://127.0.0.1:${sb.port}`;
  expect([env.COS_ENDPOINT, env.OSS_ENDPOINT, env.AWS_ENDPOINT_URL_S3_CONTROL]).toEqual([url, url, url]);
  expect(env.TENCENTCLOUD_SECRETID).toBe(sb.credentials.cos.secretId);
  expect(env.AWS_SECRET_ACCESS_KEY).toBe(sb.credentials.s3.secretAccessKey);
});

it('prints the same credentials on every start', async () => {
  const other = await startSandbox({ pace: false });
  try {
    expect(other.credentials).toEqual(sb.credentials);
    expect(sb.credentials.cos.secretId).toMatch(/^AKIDSANDBOX/);
  } finally {
    await other.close();
  }
});

it('quotes a value a shell would split', () => {
  expect(sandboxEnvLines({ env: { A: 'x y', B: "it's" } })).toEqual(["A='x y'", "B='it'\\''s'"]);
});
