/**
 * What the shared state (issue 15) costs a transition: DynamoDB requests per transition through
 * the real handler on the local table (state: begin, claimOrder, finishOrder, complete; ledger:
 * the outcome record), first delivery and duplicate; and a 10-record batch with state, at 100 ms
 * sandbox latency, against one provider call with the same latency (target ≤ 1.2×), beside the
 * same batch without the table.
 */
import type { SQSEvent } from 'aws-lambda';
import { createTransitionsHandler } from '../lib/lambda/handlers';
import { createObserver } from '../lib/lambda/observe';
import { startLocalStack } from '../lib/local/stack';
import type { JobControl } from '../lib/providers/types';
import { type Benchmark, interleave, ratios, round, row, spread } from './measure';
import { context, seedFresh, sqsEvent, TARGETS } from './targets';

const LATENCY_MS = 100;

export const state: Benchmark = {
  name: 'state',
  summary: `DynamoDB requests per transition; 10-record batch with state at ${LATENCY_MS} ms latency vs one call`,
  async run({ quick, log }) {
    const repeats = quick ? 6 : 18;
    process.env.POWERTOOLS_LOG_LEVEL ??= 'SILENT';
    process.env.POWERTOOLS_METRICS_DISABLED ??= 'true';
    const stack = await startLocalStack({
      queue: { prefix: `bench-state${process.pid}` },
      sandbox: { pace: false, faults: { latencyMs: LATENCY_MS } },
      dynamo: {},
      observer: createObserver('jobctl-bench'),
    });
    try {
      const sb = stack.sandbox!;
      const rt = stack.runtime;
      const withState = stack.handlers.transitions;
      const withoutState = createTransitionsHandler(
        stack.rewire({ env: { JOBCTL_TABLE: '' }, observer: createObserver('jobctl-bench') }),
      );
      // The state alone (no ledger record): what the ledger's outcome record adds.
      const stateOnly = createTransitionsHandler({
        ...stack.rewire({ observer: createObserver('jobctl-bench') }),
        ledger: null,
      });
      stack.runtime = rt;
      const invoke = (h: typeof withState) => async (event: unknown) => {
        const res = await h(event as SQSEvent, context());
        if (res.batchItemFailures.length > 0)
          throw new Error(`${res.batchItemFailures.length} records failed`);
      };
      const requests = () =>
        rt.state!.requests + rt.ledger!.counters.readRequests + rt.ledger!.counters.writeRequests;

      // Requests per transition: 10 first deliveries, then the same 10 ids again (republished).
      const jobs = seedFresh(sb.store, 'cos', 10);
      const ids = jobs.map((_, i) => `bench-state-req-${process.pid}-${i}`);
      const r0 = requests();
      await invoke(withState)(sqsEvent(jobs, ids));
      const r1 = requests();
      await invoke(withState)(sqsEvent(jobs, ids));
      const r2 = requests();
      const first = (r1 - r0) / 10;
      const duplicate = (r2 - r1) / 10;
      log(`state: ${first} DynamoDB requests per transition, ${duplicate} per duplicate`);

      const cos: JobControl = await rt.providers.get('cos');
      const sides = {
        batch10: {
          prepare: async () => sqsEvent(seedFresh(sb.store, 'cos', 10)),
          run: invoke(withState),
        },
        batch10StateOnly: {
          prepare: async () => sqsEvent(seedFresh(sb.store, 'cos', 10)),
          run: invoke(stateOnly),
        },
        batch10NoState: {
          prepare: async () => sqsEvent(seedFresh(sb.store, 'cos', 10)),
          run: invoke(withoutState),
        },
        oneCall: {
          prepare: async () => seedFresh(sb.store, 'cos', 1),
          run: async (jobIds: unknown) => {
            await cos.updateStatus(TARGETS.cos, (jobIds as string[])[0]!, 'Ready', undefined);
          },
        },
      };
      log(`state: warm-up, then ${repeats} repeats`);
      await interleave(sides, 6);
      const t = await interleave(sides, repeats);
      const ms = (xs: number[]) => round(spread(xs).median, 1);
      return [
        row({
          id: 'state.requests-per-transition',
          measure: 'DynamoDB requests per transition (state + ledger), first delivery',
          baseline: '—',
          unit: 'requests',
          value: spread([first]),
          // The budget: state.ts's 4 writes (3 round trips) + the ledger's outcome record (Put + Update,
          // a Put for a target seen first).
          target: { op: '<=', value: 7 },
          detail: { first, duplicate },
        }),
        row({
          id: 'state.batch10-vs-one-call',
          measure: `10-record batch with the state table, latency ${LATENCY_MS} ms`,
          baseline: 'one call with the same latency',
          unit: '×',
          value: spread(ratios(t.batch10, t.oneCall)),
          target: { op: '<=', value: 1.2 },
          detail: {
            repeats,
            ms: {
              batch10: ms(t.batch10),
              batch10StateOnly: ms(t.batch10StateOnly),
              batch10NoState: ms(t.batch10NoState),
              oneCall: ms(t.oneCall),
            },
            stateOnlyVsOneCall: round(spread(ratios(t.batch10StateOnly, t.oneCall)).median),
            noStateVsOneCall: round(spread(ratios(t.batch10NoState, t.oneCall)).median),
          },
        }),
      ];
    } finally {
      await stack.close();
    }
  },
};
