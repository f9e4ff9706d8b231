import { createOssControl } from '../lib/providers/oss/client';
import {
  type CallSandbox,
  callCounts,
  captureRequests,
  type PreparedRequest,
  rawSend,
  sequential,
  startCallSandbox,
  TARGETS,
} from './calls';
import { type Benchmark, interleave, ratios, round, row, spread } from './measure';

const target = TARGETS.oss;

const credentialsOf = (sb: CallSandbox) => async () => ({
  accessKeyId: sb.credentials.oss.accessKeyId,
  secretAccessKey: sb.credentials.oss.accessKeySecret,
});

export const oss: Benchmark = {
  name: 'oss',
  summary: 'OSS UpdateJobStatus per call: ours vs raw keep-alive HTTP',
  async run({ quick, log }) {
    const { calls, repeats } = callCounts(quick);
    const sb = await startCallSandbox();
    try {
      const ours = createOssControl({ endpoint: sb.url, credentials: credentialsOf(sb) });
      const sides = (n: number) => ({
        ours: {
          prepare: async () => sb.freshJobs('oss', n),
          run: async (ids: unknown) =>
            sequential(n, async (i) => {
              const r = await ours.updateStatus(target, (ids as string[])[i]!, 'Ready', undefined);
              if (r.status !== 'Ready') throw new Error(`unexpected status ${r.status}`);
            }),
        },
        raw: {
          prepare: async () =>
            captureRequests(
              (transport) =>
                createOssControl({ endpoint: sb.url, credentials: credentialsOf(sb), transport }),
              target,
              await sb.freshJobs('oss', n),
            ),
          run: async (reqs: unknown) => sequential(n, (i) => rawSend((reqs as PreparedRequest[])[i]!)),
        },
      });
      log(`oss: warm-up, then ${repeats} × ${calls} calls per side`);
      await interleave(sides(50), 4);
      const t = await interleave(sides(calls), repeats);
      const us = (ms: number[]) => round((spread(ms).median * 1000) / calls, 1);
      return [
        row({
          id: 'oss.vs-raw',
          measure: 'OSS UpdateJobStatus (keep-alive, sandbox)',
          baseline: 'raw keep-alive http.request, same bytes',
          unit: '×',
          value: spread(ratios(t.ours, t.raw)),
          target: { op: '<=', value: 1.3 },
          detail: { calls, repeats, usPerCall: { ours: us(t.ours), raw: us(t.raw) } },
        }),
      ];
    } finally {
      await sb.close();
    }
  },
};
