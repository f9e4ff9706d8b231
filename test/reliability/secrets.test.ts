/**
 * Secrets stay out of outcomes and logs on the paths where they are most likely to slip out: a
 * provider refusing the signature (its error answer is copied into the outcome), keys that are
 * half configured (the configuration error names the variables), and a listing refused the same
 * way (the fan-out report). Temporary keys are configured for all three providers. The chaos run
 * (chaos.test.ts) scans every log line and outcome of a run under faults the same way.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { isFanout } from '../../lib/lambda/publisher';
import { generateJobs } from '../../lib/local/sandbox/seed';
import type { ProviderName } from '../../lib/providers/types';
import type { Stack } from '../support/harness';
import {
  capturingObserver,
  findLeaks,
  installRuntime,
  invoke,
  outcomesOf,
  recordRequests,
  secretsOf,
  signaturesOf,
  startReliabilityStack,
  TARGETS,
  TOKENS,
} from '../support/reliability';

const PROVIDERS: ProviderName[] = ['cos', 'oss', 's3'];
const seed = PROVIDERS.flatMap((p, i) =>
  generateJobs(3, { ...TARGETS[p], seed: 500 + i, description: 'nightly-secret-' }),
);
const jobOf = (p: ProviderName) => seed.find((j) => j.provider === p)!.jobId!;
const messages = PROVIDERS.flatMap((p) => {
  const base = { ...TARGETS[p], jobId: jobOf(p) };
  const { jobId: _, ...noJob } = base;
  return [
    {
      id: `secret-${p}-ready`,
      ...base,
      action: 'UpdateJobStatus',
      requestedJobStatus: 'Ready',
      statusUpdateReason: 'x',
    },
    { id: `secret-${p}-priority`, ...base, action: 'UpdateJobPriority', priority: 3 },
    {
      id: `secret-${p}-select`,
      ...noJob,
      action: 'UpdateJobStatus',
      requestedJobStatus: 'Ready',
      select: { statuses: ['Suspended'] },
    },
  ];
});

/** Keys the sandbox does not know: every signature they make is refused. */
const WRONG = {
  TENCENTCLOUD_SECRETKEY: 'wrongCosSecretKey-6c1f0e9d8b7a',
  ALIBABA_CLOUD_ACCESS_KEY_SECRET: 'wrongOssAccessKeySecret-3e5a7c9b1d',
  AWS_SECRET_ACCESS_KEY: 'wrong/S3/SecretAccessKey/4f2a6b8c0d1e3f5a',
};

let stack: Stack | undefined;
afterEach(async () => {
  await stack?.close();
  stack = undefined;
});

async function runAndScan(env: NodeJS.ProcessEnv) {
  const s = stack!;
  const { observer, lines } = capturingObserver('jobctl-secrets');
  const runtimeEnv = { ...s.env, ...env };
  for (const k of ['AWS_ACCESS_KEY_ID', 'AWS_SECRET_ACCESS_KEY', 'AWS_SESSION_TOKEN'] as const)
    if (runtimeEnv[k] !== undefined) process.env[k] = runtimeEnv[k];
  installRuntime(s, { env, observer });
  const recorder = recordRequests();
  let r: Awaited<ReturnType<typeof invoke>>;
  try {
    r = await invoke(s, messages);
  } finally {
    recorder.stop();
  }
  const secrets = { ...secretsOf(s.env), ...secretsOf(runtimeEnv) };
  const signatures = signaturesOf(recorder.sent);
  const texts: [string, string][] = [
    ...lines.map((l, i) => [`log line ${i}`, l] as [string, string]),
    ...r.records.map((o, i) => [`result ${i}`, JSON.stringify(o)] as [string, string]),
  ];
  return { r, lines, secrets, signatures, leaks: findLeaks(texts, { literals: secrets, signatures }) };
}

describe('secrets never appear in outcomes or logs', () => {
  it('when every provider refuses the signature', async () => {
    stack = await startReliabilityStack({ sandbox: { seed } });
    const { r, lines, secrets, signatures, leaks } = await runAndScan(WRONG);
    // The refusals happened, were reported, and were logged at DEBUG level and above.
    const outcomes = outcomesOf(r.records);
    expect(outcomes.map((o) => [o.id, o.outcome, o.error?.httpStatus])).toEqual(
      expect.arrayContaining(
        PROVIDERS.flatMap((p) => [
          [`secret-${p}-ready`, 'rejected', 403],
          [`secret-${p}-priority`, 'rejected', 403],
        ]),
      ),
    );
    // Listing is refused the same way: each select's fan-out report carries the provider's 403.
    const reports = r.records.filter(isFanout);
    expect(reports.map((f) => [f.id, f.enqueued, f.error === null])).toEqual(
      expect.arrayContaining(PROVIDERS.map((p) => [`secret-${p}-select`, 0, false])),
    );
    expect(lines.length).toBeGreaterThanOrEqual(r.records.length);
    expect(Object.keys(secrets)).toEqual(
      expect.arrayContaining([...Object.keys(WRONG), ...Object.keys(TOKENS)]),
    );
    expect(signatures.size).toBeGreaterThanOrEqual(6);
    expect(leaks).toEqual([]);
  });

  it('when keys are half configured: the error names the variables, never a value', async () => {
    stack = await startReliabilityStack({ sandbox: { seed } });
    const { r, leaks } = await runAndScan({ TENCENTCLOUD_SECRETID: '', ALIBABA_CLOUD_ACCESS_KEY_SECRET: '' });
    const byId = new Map(outcomesOf(r.records).map((o) => [o.id, o]));
    for (const p of ['cos', 'oss'] as const) {
      const o = byId.get(`secret-${p}-ready`)!;
      expect(o).toMatchObject({ outcome: 'failed', error: { code: 'MissingCredentials' } });
      expect(o.error!.message).toMatch(
        p === 'cos' ? /TENCENTCLOUD_SECRETID/ : /ALIBABA_CLOUD_ACCESS_KEY_SECRET/,
      );
    }
    expect(byId.get('secret-s3-ready')?.outcome).toBe('applied');
    expect(leaks).toEqual([]);
  });

  it('when everything works: applied outcomes and their logs carry no key, token or signature', async () => {
    stack = await startReliabilityStack({ sandbox: { seed } });
    const { r, signatures, leaks } = await runAndScan({});
    const outcomes = outcomesOf(r.records);
    expect(outcomes.filter((o) => o.outcome === 'applied').length).toBe(6);
    expect(signatures.size).toBeGreaterThanOrEqual(9);
    expect(leaks).toEqual([]);
  });
});

describe('the scanner', () => {
  const secrets = { literals: { TOKEN: 'tok/en"1' }, signatures: new Set(['a'.repeat(40), 'b'.repeat(64)]) };
  it.each([
    ['the literal', 'x tok/en"1 y', 'TOKEN'],
    ['the literal, JSON-escaped', JSON.stringify({ t: 'tok/en"1' }), 'TOKEN'],
    ['a COS signature parameter', 'q-sign-algorithm=sha1&q-signature=0123', 'signature parameter'],
    ['a SigV4 signature parameter', 'SignedHeaders=host, Signature=0123', 'signature parameter'],
    ['a 40-hex signature that was sent', `sig ${'a'.repeat(40)}.`, 'a signature sent'],
    ['a 64-hex signature that was sent', `"${'B'.repeat(64)}"`, 'a signature sent'],
  ])('finds %s', (_name, text, what) => {
    expect(findLeaks([['t', text]], secrets).map((l) => l.what)).toContain(what);
  });
  it('ignores hex runs that were not sent, and longer runs', () => {
    expect(findLeaks([['t', `${'c'.repeat(40)} ${'a'.repeat(41)}`]], secrets)).toEqual([]);
  });
});
