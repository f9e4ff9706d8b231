/**
 * OSS UpdateJobStatus against the sandbox, one call at a time over keep-alive: our client
 * (`createOssControl`: validate, V4-sign, send, parse) against a raw keep-alive `http.request` of
 * the very bytes our client sends (captured and signed beforehand); target ≤ 1.3× (issue 14.5: simple code over microseconds).
 * Every timed loop gets its own fresh Suspended jobs, so both sides do the same server work.
 */
import type { HttpRequest } from '../lib/providers/http';
import { createOssControl } from '../lib/providers/oss/client';
import {
  type CallSandbox,
  callCounts,
  type PreparedRequest,
  prepared,
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

/** The bytes our client would send for each job, signed now (the sandbox allows 15 minutes of skew). */
async function captureRequests(sb: CallSandbox, ids: string[]): Promise<PreparedRequest[]> {
  const out: PreparedRequest[] = [];
  // The client checks that an answer names the job it asked about.
  let current = '';
  const capture = createOssControl({
    endpoint: sb.url,
    credentials: credentialsOf(sb),
    transport: async (req: HttpRequest) => {
      out.push(prepared(req));
      return {
        status: 200,
        headers: {},
        body: `<UpdateJobStatusResult><JobId>${current}</JobId><Status>Ready</Status></UpdateJobStatusResult>`,
      };
    },
  });
  for (const id of ids) {
    current = id;
    await capture.updateStatus(target, id, 'Ready', undefined);
  }
  return out;
}

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
          prepare: async () => captureRequests(sb, await sb.freshJobs('oss', n)),
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
