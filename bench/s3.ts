/**
 * S3 UpdateJobStatus against the sandbox, one call at a time over keep-alive: our `createS3Control`
 * (validation, deadline signal, error mapping around the SDK) against the bare SDK —
 * `S3ControlClient.send(new UpdateJobStatusCommand)` configured the same way (endpoint, one
 * attempt, keep-alive); target ≤ 1.05×. Fresh Suspended jobs for every timed loop.
 */
import { S3ControlClient, UpdateJobStatusCommand } from '@aws-sdk/client-s3-control';
import { createS3Control } from '../lib/providers/s3/client';
import { callCounts, sequential, startCallSandbox, TARGETS } from './calls';
import { type Benchmark, interleave, ratios, round, row, spread } from './measure';

const target = TARGETS.s3;

export const s3: Benchmark = {
  name: 's3',
  summary: 'S3 UpdateJobStatus per call: createS3Control vs the bare SDK command',
  async run({ quick, log }) {
    const { calls, repeats } = callCounts(quick);
    const sb = await startCallSandbox();
    const credentials = {
      accessKeyId: sb.credentials.s3.accessKeyId,
      secretAccessKey: sb.credentials.s3.secretAccessKey,
    };
    const ours = createS3Control({ endpoint: sb.url, credentials });
    const bare = new S3ControlClient({
      region: target.region,
      credentials,
      maxAttempts: 1,
      requestHandler: { httpAgent: { keepAlive: true, maxSockets: 64 } },
      // As ours: the sandbox's URL verbatim (the default resolver would prefix the account id).
      endpointProvider: () => ({ url: new URL(sb.url) }),
    });
    try {
      const sides = (n: number) => ({
        ours: {
          prepare: async () => sb.freshJobs('s3', n),
          run: async (ids: unknown) =>
            sequential(n, async (i) => {
              const r = await ours.updateStatus(target, (ids as string[])[i]!, 'Ready', undefined);
              if (r.status !== 'Ready') throw new Error(`unexpected status ${r.status}`);
            }),
        },
        bare: {
          prepare: async () => sb.freshJobs('s3', n),
          run: async (ids: unknown) =>
            sequential(n, async (i) => {
              const r = await bare.send(
                new UpdateJobStatusCommand({
                  AccountId: target.account,
                  JobId: (ids as string[])[i]!,
                  RequestedJobStatus: 'Ready',
                }),
              );
              if (r.Status !== 'Ready') throw new Error(`unexpected status ${r.Status}`);
            }),
        },
      });
      log(`s3: warm-up, then ${repeats} × ${calls} calls per side`);
      await interleave(sides(50), 4);
      const t = await interleave(sides(calls), repeats);
      const us = (ms: number[]) => round((spread(ms).median * 1000) / calls, 1);
      return [
        row({
          id: 's3.vs-sdk',
          measure: 'S3 UpdateJobStatus (keep-alive, sandbox)',
          baseline: 'bare S3ControlClient.send(UpdateJobStatusCommand)',
          unit: '×',
          value: spread(ratios(t.ours, t.bare)),
          target: { op: '<=', value: 1.05 },
          detail: { calls, repeats, usPerCall: { ours: us(t.ours), bare: us(t.bare) } },
        }),
      ];
    } finally {
      ours.close();
      bare.destroy();
      await sb.close();
    }
  },
};
