import { createObserver } from '../lib/lambda/observe';
import { startLocalStack } from '../lib/local/stack';
import type { JobControl } from '../lib/providers/types';
import { type Benchmark, interleave, ratios, round, row, spread } from './measure';
import { context, seedFresh, sqsEvent, TARGETS } from './targets';

export const LATENCY_MS = 100;

export const batch: Benchmark = {
  name: 'batch',
  summary: `10-record batch through functions/transitions.ts, ${LATENCY_MS} ms sandbox latency, vs one call`,
  async run({ quick, log }) {
    // Multiples of 6: every ordering of the three sides equally often.
    const repeats = quick ? 6 : 18;
    // The deployed observer, silenced: a log line per outcome is not what is measured here.
    process.env.POWERTOOLS_LOG_LEVEL ??= 'SILENT';
    process.env.POWERTOOLS_METRICS_DISABLED ??= 'true';
    // The local stack without the state table, comparable with the figures before it existed;
    // bench/state.ts measures the same batch with the table.
    const stack = await startLocalStack({
      queue: { prefix: `bench${process.pid}` },
      sandbox: { pace: false, faults: { latencyMs: LATENCY_MS } },
      dynamo: false,
      observer: createObserver('jobctl-bench'),
    });
    const sb = stack.sandbox!;
    const handler = stack.handlers.transitions;
    try {
      const runtime = stack.runtime;
      const cos: JobControl = await runtime.providers.get('cos');

      const invoke = async (ids: unknown) => {
        const res = await handler(sqsEvent(ids as string[]), context());
        if (res.batchItemFailures.length > 0)
          throw new Error(`${res.batchItemFailures.length} records failed`);
      };
      const sides = {
        batch10: { prepare: async () => seedFresh(sb.store, 'cos', 10), run: invoke },
        oneCall: {
          prepare: async () => seedFresh(sb.store, 'cos', 1),
          run: async (ids: unknown) => {
            await cos.updateStatus(TARGETS.cos, (ids as string[])[0]!, 'Ready', undefined);
          },
        },
        batch1: { prepare: async () => seedFresh(sb.store, 'cos', 1), run: invoke },
      };
      log(`batch: warm-up, then ${repeats} repeats`);
      await interleave(sides, 6);
      const t = await interleave(sides, repeats);
      const ms = (xs: number[]) => round(spread(xs).median, 1);
      return [
        row({
          id: 'batch.10-vs-one-call',
          measure: `10-record batch through functions/transitions.ts, latency ${LATENCY_MS} ms`,
          baseline: 'one call with the same latency',
          unit: '×',
          value: spread(ratios(t.batch10, t.oneCall)),
          target: { op: '<=', value: 1.3 },
          detail: {
            repeats,
            ms: { batch10: ms(t.batch10), oneCall: ms(t.oneCall), batch1: ms(t.batch1) },
            batch1VsOneCall: round(spread(ratios(t.batch1, t.oneCall)).median),
          },
        }),
      ];
    } finally {
      await stack.close();
    }
  },
};
