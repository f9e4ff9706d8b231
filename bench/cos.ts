/**
 * COS UpdateJobStatus against the sandbox, one call at a time over keep-alive:
 * - our client (`createCosControl`: validate, sign, send, parse) against a raw keep-alive
 *   `http.request` of the very bytes our client sends (captured and signed beforehand), so the
 *   ratio is our client-side cost per call over the bare round trip; target ≤ 1.3× (issue 14.5: simple code over microseconds);
 * - cos-nodejs-sdk-v5's generic `request()` for the same operation against ours; target ≥ 4×.
 * Every timed loop gets its own fresh Suspended jobs, so every side does the same server work.
 * The same comparisons against an echo server (no server work at all) are reported alongside:
 * the sandbox's fixed cost per call dilutes the first ratio and compresses the second.
 */
import COS from 'cos-nodejs-sdk-v5';
import { createCosControl } from '../lib/providers/cos/client';
import {
  type CallSandbox,
  callCounts,
  captureRequests,
  type PreparedRequest,
  rawSend,
  sequential,
  startCallSandbox,
  startEchoServer,
  TARGETS,
} from './calls';
import { type Benchmark, interleave, ratios, round, row, spread } from './measure';

const target = TARGETS.cos;

interface Comparison {
  vsRaw: { ours: number[]; raw: number[] };
  vsSdk: { ours: number[]; sdk: number[] };
}

/** Ours against raw HTTP, then ours against the SDK, each pair interleaved on its own (the SDK's garbage must not land in the other pair's blocks). */
async function compare(server: CallSandbox, calls: number, repeats: number): Promise<Comparison> {
  const ours = createCosControl({
    endpoint: server.url,
    credentials: async () => ({
      accessKeyId: server.credentials.cos.secretId,
      secretAccessKey: server.credentials.cos.secretKey,
    }),
  });
  const sdk = new COS({
    SecretId: server.credentials.cos.secretId,
    SecretKey: server.credentials.cos.secretKey,
    Protocol: 'http:',
    AutoSwitchHost: false,
    KeepAlive: true,
  });
  const ourSide = (n: number) => ({
    prepare: async () => server.freshJobs('cos', n),
    run: async (ids: unknown) =>
      sequential(n, async (i) => {
        const r = await ours.updateStatus(target, (ids as string[])[i]!, 'Ready', undefined);
        if (r.status !== 'Ready') throw new Error(`unexpected status ${r.status}`);
      }),
  });
  const rawSide = (n: number) => ({
    prepare: async () =>
      captureRequests(
        (transport) =>
          createCosControl({
            endpoint: server.url,
            credentials: async () => ({
              accessKeyId: server.credentials.cos.secretId,
              secretAccessKey: server.credentials.cos.secretKey,
            }),
            transport,
          }),
        target,
        await server.freshJobs('cos', n),
      ),
    run: async (reqs: unknown) => sequential(n, (i) => rawSend((reqs as PreparedRequest[])[i]!)),
  });
  const sdkSide = (n: number) => ({
    prepare: async () => server.freshJobs('cos', n),
    run: async (ids: unknown) =>
      sequential(n, (i) =>
        sdk.request({
          Method: 'POST',
          Url: `${server.url}/jobs/${(ids as string[])[i]!}/status`,
          Query: { requestedJobStatus: 'Ready' },
          Headers: { 'x-cos-appid': target.appId },
        } as unknown as COS.RequestParams),
      ),
  });
  await interleave({ ours: ourSide(50), raw: rawSide(50), sdk: sdkSide(50) }, 6);
  const vsRaw = await interleave({ ours: ourSide(calls), raw: rawSide(calls) }, repeats);
  const vsSdk = await interleave({ ours: ourSide(calls), sdk: sdkSide(calls) }, repeats);
  return { vsRaw, vsSdk };
}

export const cos: Benchmark = {
  name: 'cos',
  summary: 'COS UpdateJobStatus per call: ours vs raw keep-alive HTTP, vs cos-nodejs-sdk-v5 request()',
  async run({ quick, log }) {
    const { calls, repeats } = callCounts(quick);
    const echoRepeats = Math.max(10, Math.round(repeats / 20) * 10);
    log(
      `cos: ${repeats} × ${calls} calls per side against the sandbox, ${echoRepeats} against an echo server`,
    );
    const sb = await startCallSandbox();
    let main: Comparison;
    try {
      main = await compare(sb, calls, repeats);
    } finally {
      await sb.close();
    }
    const echoServer = await startEchoServer();
    let echo: Comparison;
    try {
      echo = await compare(echoServer, calls, echoRepeats);
    } finally {
      await echoServer.close();
    }
    const us = (ms: number[]) => round((spread(ms).median * 1000) / calls, 1);
    const med = (xs: number[]) => round(spread(xs).median);
    // The same comparisons against a server that does no work: the sandbox's own cost per call
    // is the difference of the raw round trips, and it dilutes one ratio while it inflates the other.
    const echoDetail = {
      usPerCall: { ours: us(echo.vsRaw.ours), raw: us(echo.vsRaw.raw), sdk: us(echo.vsSdk.sdk) },
      oursVsRaw: med(ratios(echo.vsRaw.ours, echo.vsRaw.raw)),
      sdkVsOurs: med(ratios(echo.vsSdk.sdk, echo.vsSdk.ours)),
      sandboxUsPerCall: round(us(main.vsRaw.raw) - us(echo.vsRaw.raw), 1),
    };
    return [
      row({
        id: 'cos.vs-raw',
        measure: 'COS UpdateJobStatus (keep-alive, sandbox)',
        baseline: 'raw keep-alive http.request, same bytes',
        unit: '×',
        value: spread(ratios(main.vsRaw.ours, main.vsRaw.raw)),
        target: { op: '<=', value: 1.3 },
        detail: {
          calls,
          repeats,
          usPerCall: { ours: us(main.vsRaw.ours), raw: us(main.vsRaw.raw) },
          echo: echoDetail,
        },
      }),
      row({
        id: 'cos.vs-sdk',
        measure: 'COS UpdateJobStatus: how much faster than the SDK',
        baseline: 'cos-nodejs-sdk-v5 request()',
        unit: 'x faster',
        value: spread(ratios(main.vsSdk.sdk, main.vsSdk.ours)),
        target: { op: '>=', value: 4 },
        detail: {
          calls,
          repeats,
          usPerCall: { ours: us(main.vsSdk.ours), sdk: us(main.vsSdk.sdk) },
          sdkVsRaw: round(spread(main.vsSdk.sdk).median / spread(main.vsRaw.raw).median),
          echo: echoDetail,
        },
      }),
    ];
  },
};
