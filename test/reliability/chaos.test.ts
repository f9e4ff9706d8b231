/**
 * The chaos run: thousands of transitions (3,000 in `npm run test:reliability`, 300 in `npm test`)
 * — Ready, Cancelled and priority changes across COS, OSS and S3, some invalid, expired or outside
 * the allowlist, some delivered twice — through the requests queue (fauxqs), consumed by the
 * project's event-source-mapping driver invoking the real transitions function, while
 *
 * - the sandbox answers 10% of requests 503 SlowDown, holds 3% longer than the client's timeout
 *   (and applies them afterwards, as a slow server does), and resets 2% of connections;
 * - the results queue loses a seeded half of its SendMessageBatch calls (thrown as a network failure),
 *   and always refuses the entries of a few "poisoned" transitions, which can never report;
 * - the requests queue has a 2 s visibility timeout and maxReceiveCount 4, so redelivery and
 *   redrive to the DLQ happen within the run.
 *
 * Then every transition id is accounted for: a terminal outcome or its message in the DLQ; no id
 * has contradicting outcomes; the sandbox's job table agrees with the outcomes; and no log line,
 * outcome or DLQ message shows a secret, a session token or a signature the clients sent.
 */

import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { OUTCOME_KINDS, type Outcome, type OutcomeKind } from '../../lib/core/outcome';
import type { TransitionsHandler } from '../../lib/lambda/handlers';
import { isFanout } from '../../lib/lambda/publisher';
import { sendAll } from '../../lib/lambda/sqs';
import { type EventSourceMapping, startEventSourceMapping } from '../../lib/local/event-source-mapping';
import { FaultInjector, type FaultOptions, mulberry32 } from '../../lib/local/sandbox/faults';
import { jobIdFromRandom } from '../../lib/local/sandbox/ids';
import type { SeedJob } from '../../lib/local/sandbox/types';
import type { ProviderName } from '../../lib/providers/types';
import { depth, drain, type Stack } from '../support/harness';
import {
  capturingObserver,
  FULL,
  findLeaks,
  installRuntime,
  type LossyStats,
  lossySqs,
  recordRequests,
  secretsOf,
  signaturesOf,
  size,
  startReliabilityStack,
  TARGETS,
} from '../support/reliability';

const TRANSITIONS = size(3_000, 300);
const SEED = 20_261_124;
const PROVIDERS: ProviderName[] = ['cos', 'oss', 's3'];
const FAULTS: FaultOptions = {
  seed: SEED,
  slowDownRate: 0.1,
  hangRate: 0.03,
  resetRate: 0.02,
  hangMs: 1_000,
};
const CALL_TIMEOUT_MS = 300;
const RESULTS_LOSS = 0.5;
const VISIBILITY_S = 2;
const MAX_RECEIVES = 4;
/** How long the queue may take to empty: generous, the run normally needs a fraction of it. */
const DRAIN_BOUND_MS = size(540_000, 150_000);

// OSS messages carry an account so that one outside the list can aim at the same namespace.
const OSS_ACCOUNT = '1111111111';
const ALLOWED = `cos:${TARGETS.cos.account}@${TARGETS.cos.region},oss:${OSS_ACCOUNT}@${TARGETS.oss.region},s3:${TARGETS.s3.account}@${TARGETS.s3.region}`;
const TARGET: Record<ProviderName, Record<string, string>> = {
  cos: { ...TARGETS.cos },
  oss: { ...TARGETS.oss, account: OSS_ACCOUNT },
  s3: { ...TARGETS.s3 },
};
const OUTSIDE: Record<ProviderName, Record<string, string>> = {
  cos: { account: '200000000002' },
  oss: { account: '2222222222' },
  s3: { account: '999999999999' },
};

// ── what contradicts ──────────────────────────────────────────────────────────────────────────

/**
 * Terminal outcomes of one id, in classes: at-least-once delivery may repeat a transition, and a
 * repeat of a change already made is `unchanged`, so `applied` and `unchanged` agree (the change is
 * in effect). Every other pair of classes contradicts: a change cannot be in effect and refused
 * (`rejected`), malformed (`invalid`, which depends on the body alone) or never sent (`expired`).
 * `failed` is not terminal and contradicts nothing: it only says that one attempt gave up.
 */
const CLASS: Record<OutcomeKind, string | null> = {
  applied: 'in effect',
  unchanged: 'in effect',
  rejected: 'refused',
  invalid: 'malformed',
  expired: 'not sent',
  // A newer transition won: this one was never sent, like an expired one.
  superseded: 'not sent',
  failed: null,
};
function contradiction(kinds: Iterable<OutcomeKind>): string | undefined {
  const classes = new Set([...kinds].map((k) => CLASS[k]).filter((c) => c !== null));
  return classes.size > 1 ? [...classes].sort().join(' vs ') : undefined;
}

describe('what contradicts', () => {
  it.each([
    [['applied'], false],
    [['applied', 'unchanged'], false],
    [['applied', 'applied', 'failed'], false],
    [['failed', 'unchanged'], false],
    [['rejected', 'rejected'], false],
    [['applied', 'rejected'], true],
    [['unchanged', 'rejected'], true],
    [['applied', 'invalid'], true],
    [['applied', 'expired'], true],
    [['rejected', 'expired'], true],
    [['invalid', 'expired'], true],
  ] as [OutcomeKind[], boolean][])('%j contradicts: %s', (kinds, contradicts) => {
    expect(contradiction(kinds) !== undefined).toBe(contradicts);
  });
});

// ── the plan ──────────────────────────────────────────────────────────────────────────────────

type Expectation =
  /** The change ends in effect: applied and/or unchanged. */
  | 'in-effect'
  /** Already there before the run: unchanged only. */
  | 'unchanged'
  /** Refused by the provider. */
  | 'rejected'
  | 'not-allowed'
  | 'expired'
  | 'invalid'
  /** Its outcome can never be published: the message must end in the DLQ, without any outcome. */
  | 'poison';

type Change = { kind: 'Ready' } | { kind: 'Cancelled' } | { kind: 'priority'; value: number };

interface Planned {
  id: string;
  provider: ProviderName;
  jobId: string;
  body: string;
  expect: Expectation;
  change: Change;
  /** For `invalid`: the field its outcome must name. */
  field?: string;
  duplicated: boolean;
}

interface PlannedJob {
  seed: SeedJob;
  transitions: Planned[];
}

const REASONS = [undefined, 'off-peak window opened', '夜间窗口已开启', 'نافذة الليل مفتوحة', 'a&b <c> "d"'];

function plan(n: number) {
  const random = mulberry32(SEED);
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(random() * xs.length)]!;
  const jobs: PlannedJob[] = [];
  const all: Planned[] = [];
  const poisonCount = Math.max(3, Math.round(n / 100));
  let k = 0;

  const newJob = (provider: ProviderName, status: SeedJob['status']): PlannedJob => {
    const seed: SeedJob = {
      ...(TARGETS[provider] as Omit<SeedJob, 'status'>),
      jobId: jobIdFromRandom(provider, random),
      status,
      priority: 10,
      description: `chaos-${status.toLowerCase()}-${jobs.length}`,
    };
    const job = { seed, transitions: [] };
    jobs.push(job);
    return job;
  };
  const message = (provider: ProviderName, id: string, jobId: string, change: Change, extra: object = {}) => {
    const reason = change.kind === 'priority' ? undefined : pick(REASONS);
    return {
      id,
      ...TARGET[provider],
      jobId,
      ...(change.kind === 'priority'
        ? { action: 'UpdateJobPriority', priority: change.value }
        : {
            action: 'UpdateJobStatus',
            requestedJobStatus: change.kind,
            ...(reason === undefined ? {} : { statusUpdateReason: reason }),
          }),
      ...extra,
    };
  };
  const add = (
    job: PlannedJob | null,
    provider: ProviderName,
    jobId: string,
    expectation: Expectation,
    change: Change,
    body: string | object,
    field?: string,
  ) => {
    const id =
      typeof body === 'string' ? (JSON.parse(body) as { id: string }).id : (body as { id: string }).id;
    const t: Planned = {
      id,
      provider,
      jobId,
      body: typeof body === 'string' ? body : JSON.stringify(body),
      expect: expectation,
      change,
      ...(field ? { field } : {}),
      duplicated: random() < 0.1,
    };
    job?.transitions.push(t);
    all.push(t);
  };

  const SCENARIOS: [weight: number, make: (p: ProviderName, id: string) => void][] = [
    [
      22,
      (p, id) => {
        const j = newJob(p, 'Suspended');
        add(
          j,
          p,
          j.seed.jobId!,
          'in-effect',
          { kind: 'Ready' },
          message(p, id, j.seed.jobId!, { kind: 'Ready' }),
        );
      },
    ],
    [
      5,
      (p, id) => {
        // Two transitions of their own (two ids) to the same job: one applies, the other finds it done.
        const j = newJob(p, 'Suspended');
        for (const s of ['a', 'b'])
          add(
            j,
            p,
            j.seed.jobId!,
            'in-effect',
            { kind: 'Ready' },
            message(p, `${id}${s}`, j.seed.jobId!, { kind: 'Ready' }),
          );
      },
    ],
    [
      12,
      (p, id) => {
        const j = newJob(p, 'Active');
        add(
          j,
          p,
          j.seed.jobId!,
          'in-effect',
          { kind: 'Cancelled' },
          message(p, id, j.seed.jobId!, { kind: 'Cancelled' }),
        );
      },
    ],
    [
      16,
      (p, id) => {
        const j = newJob(p, pick(['Suspended', 'Active'] as const));
        const change = { kind: 'priority', value: 1_000 + k } as const;
        add(j, p, j.seed.jobId!, 'in-effect', change, message(p, id, j.seed.jobId!, change));
      },
    ],
    [
      5,
      (p, id) => {
        const j = newJob(p, 'Suspended');
        const change = { kind: 'priority', value: 1_000 + k } as const;
        add(
          j,
          p,
          j.seed.jobId!,
          'in-effect',
          { kind: 'Ready' },
          message(p, `${id}r`, j.seed.jobId!, { kind: 'Ready' }),
        );
        add(j, p, j.seed.jobId!, 'in-effect', change, message(p, `${id}p`, j.seed.jobId!, change));
      },
    ],
    [
      4,
      (p, id) => {
        const j = newJob(p, pick(['Active', 'Complete'] as const));
        add(
          j,
          p,
          j.seed.jobId!,
          'unchanged',
          { kind: 'Ready' },
          message(p, id, j.seed.jobId!, { kind: 'Ready' }),
        );
      },
    ],
    [
      2,
      (p, id) => {
        const j = newJob(p, 'Cancelled');
        add(
          j,
          p,
          j.seed.jobId!,
          'unchanged',
          { kind: 'Cancelled' },
          message(p, id, j.seed.jobId!, { kind: 'Cancelled' }),
        );
      },
    ],
    [
      3,
      (p, id) => {
        const j = newJob(p, 'Failed');
        add(
          j,
          p,
          j.seed.jobId!,
          'rejected',
          { kind: 'Ready' },
          message(p, id, j.seed.jobId!, { kind: 'Ready' }),
        );
      },
    ],
    [
      3,
      (p, id) => {
        const j = newJob(p, 'Complete');
        add(
          j,
          p,
          j.seed.jobId!,
          'rejected',
          { kind: 'Cancelled' },
          message(p, id, j.seed.jobId!, { kind: 'Cancelled' }),
        );
      },
    ],
    [
      2,
      (p, id) => {
        const j = newJob(p, 'Complete');
        const change = { kind: 'priority', value: 5_000 + k } as const;
        add(j, p, j.seed.jobId!, 'rejected', change, message(p, id, j.seed.jobId!, change));
      },
    ],
    [
      3,
      (p, id) => {
        const missing = jobIdFromRandom(p, random);
        add(null, p, missing, 'rejected', { kind: 'Ready' }, message(p, id, missing, { kind: 'Ready' }));
      },
    ],
    [
      3,
      (p, id) => {
        const j = newJob(p, 'Suspended');
        add(
          j,
          p,
          j.seed.jobId!,
          'not-allowed',
          { kind: 'Ready' },
          message(p, id, j.seed.jobId!, { kind: 'Ready' }, OUTSIDE[p]),
        );
      },
    ],
    [
      3,
      (p, id) => {
        const j = newJob(p, 'Suspended');
        const body = message(
          p,
          id,
          j.seed.jobId!,
          { kind: 'Ready' },
          { notAfter: '2020-01-01T00:00:00+08:00' },
        );
        add(j, p, j.seed.jobId!, 'expired', { kind: 'Ready' }, body);
      },
    ],
    [
      8,
      (p, id) => {
        const j = newJob(p, 'Suspended');
        const jobId = j.seed.jobId!;
        const ready = message(p, id, jobId, { kind: 'Ready' });
        const { requestedJobStatus: _, ...noStatus } = ready as Record<string, unknown>;
        const variants: [string | object, string][] = [
          [{ ...message(p, id, jobId, { kind: 'priority', value: 1 }), priority: '5' }, 'priority'],
          [{ ...ready, region: 'AP-GUANGZHOU' }, 'region'],
          [{ ...ready, requestedJobStatus: 'Active' }, 'requestedJobStatus'],
          [{ ...noStatus, requestedStatus: 'Ready' }, 'requestedStatus'],
          [{ ...ready, statusUpdateReason: `${'é'.repeat(128)}a` }, 'statusUpdateReason'],
          [{ ...ready, jobId: `${jobId}\r\nHost: evil.example` }, 'jobId'],
          [{ ...ready, account: p === 's3' ? '123456789012.evil' : '1@evil.example' }, 'account'],
          [{ ...ready, notAfter: 'tomorrow' }, 'notAfter'],
          [`{"__proto__":{"polluted":true},${JSON.stringify(ready).slice(1)}`, '__proto__'],
        ];
        const [body, field] = pick(variants);
        add(j, p, jobId, 'invalid', { kind: 'Ready' }, body, field);
      },
    ],
  ];
  const total = SCENARIOS.reduce((s, [w]) => s + w, 0);

  for (let i = 0; i < poisonCount; i++) {
    const p = PROVIDERS[i % 3]!;
    const j = newJob(p, 'Suspended');
    add(
      j,
      p,
      j.seed.jobId!,
      'poison',
      { kind: 'Ready' },
      message(p, `poison-${i}`, j.seed.jobId!, { kind: 'Ready' }),
    );
  }
  while (all.length < n) {
    const p = PROVIDERS[k % 3]!;
    const r = random() * total;
    let edge = 0;
    const scenario =
      SCENARIOS.find(([w]) => {
        edge += w;
        return r < edge;
      }) ?? SCENARIOS[0]!;
    scenario[1](p, `chaos-${String(k).padStart(5, '0')}`);
    k++;
  }

  const messages = all.flatMap((t) => (t.duplicated ? [t.body, t.body] : [t.body]));
  for (let i = messages.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [messages[i], messages[j]] = [messages[j]!, messages[i]!];
  }
  return { jobs, transitions: all, messages };
}

// ── the run ───────────────────────────────────────────────────────────────────────────────────

interface Run {
  plan: ReturnType<typeof plan>;
  outcomes: Outcome[];
  resultBodies: string[];
  dlqBodies: string[];
  logLines: string[];
  consoleLines: string[];
  mappingErrors: string[];
  mapping: EventSourceMapping['stats'];
  lossy: LossyStats;
  faults: ReturnType<FaultInjector['injected']>;
  sandbox: ReturnType<Stack['sandbox']['stats']>;
  signatures: Set<string>;
  secrets: Record<string, string>;
  drainedMs: number;
  store: Map<string, { status: string; priority: number }>;
  storeCount: number;
}

let run: Run;
let stack: Stack | undefined;
/** The real handler on the current test's stack (its runtime as last wired). */
const transitions: TransitionsHandler = (event, ctx) => stack!.handlers.transitions(event, ctx);

beforeAll(async () => {
  const p = plan(TRANSITIONS);
  stack = await startReliabilityStack({
    sandbox: { seed: p.jobs.map((j) => j.seed), pace: false, faults: FAULTS },
    env: {
      JOBCTL_ALLOWED_TARGETS: ALLOWED,
      JOBCTL_CALL_TIMEOUT_MS: String(CALL_TIMEOUT_MS),
      JOBCTL_RESERVE_MS: '600',
    },
    visibilityTimeoutSeconds: VISIBILITY_S,
    maxReceiveCount: MAX_RECEIVES,
  });
  const s = stack;
  const recorder = recordRequests();
  const { observer, lines } = capturingObserver('jobctl-chaos');
  const lossy = lossySqs(s.env, {
    queueUrl: s.queues.resultsQueueUrl,
    rate: RESULTS_LOSS,
    seed: SEED,
    poison: (body) => body.includes('"id":"poison-'),
  });
  installRuntime(s, { sqs: lossy.sqs, observer });

  // Anything printed through the global console during the run is scanned for secrets as well.
  const consoleLines: string[] = [];
  const spies = (['log', 'info', 'warn', 'error', 'debug'] as const).map((m) =>
    vi.spyOn(console, m).mockImplementation((...args: unknown[]) => {
      consoleLines.push(args.map((a) => (typeof a === 'string' ? a : JSON.stringify(a))).join(' '));
    }),
  );
  const mappingErrors: string[] = [];
  const started = Date.now();
  let mapping: EventSourceMapping | undefined;
  try {
    const sent = await sendAll(
      s.sqs,
      s.queues.requestsQueueUrl,
      p.messages.map((body) => ({ body })),
    );
    expect(sent.failed, 'every planned message is on the requests queue').toEqual([]);

    mapping = startEventSourceMapping({
      sqs: s.sqs,
      queueUrl: s.queues.requestsQueueUrl,
      handler: transitions,
      batchSize: 10,
      maxConcurrency: 4,
      functionTimeoutMs: 2_000,
      waitTimeSeconds: 1,
      onError: (e) => mappingErrors.push(e instanceof Error ? `${e.name}: ${e.message}` : String(e)),
    });
    // Done when the requests queue holds nothing, visible or in flight, twice in a row.
    let quiet = 0;
    while (quiet < 2) {
      if (Date.now() - started > DRAIN_BOUND_MS) throw new Error('the requests queue did not empty in time');
      await new Promise((r) => setTimeout(r, 500));
      const d = await depth(s.sqs, s.queues.requestsQueueUrl);
      quiet = d.visible + d.inFlight === 0 && mapping.inFlight === 0 ? quiet + 1 : 0;
    }
  } finally {
    await mapping?.stop();
    for (const spy of spies) spy.mockRestore();
    recorder.stop();
  }
  const drainedMs = Date.now() - started;

  const resultBodies = await drain(s.sqs, s.queues.resultsQueueUrl);
  const dlqBodies = await drain(s.sqs, s.queues.dlqUrl);
  const records = resultBodies.map((b) => JSON.parse(b) as Outcome);
  const sandbox = s.sandbox.stats();
  // The sandbox draws one fault decision per request, from a seeded sequence: replaying as many
  // draws with the same options gives the faults it injected, by kind.
  const replay = new FaultInjector(FAULTS);
  for (let i = 0; i < sandbox.requests; i++) replay.decide();
  const store = new Map(
    s.sandbox.store
      .all()
      .map((j) => [`${j.provider}:${j.jobId}`, { status: j.status, priority: j.priority }]),
  );
  run = {
    plan: p,
    outcomes: records.filter((r) => !isFanout(r)),
    resultBodies,
    dlqBodies,
    logLines: lines,
    consoleLines,
    mappingErrors,
    mapping: { ...mapping!.stats },
    lossy: lossy.stats,
    faults: replay.injected(),
    sandbox,
    signatures: signaturesOf(recorder.sent),
    secrets: { ...secretsOf(s.env), ...secretsOf(process.env) },
    drainedMs,
    store,
    storeCount: s.sandbox.store.count(),
  };
  console.log(accounting(run));
}, DRAIN_BOUND_MS + 60_000);

afterAll(async () => {
  await stack?.close();
});

// ── accounting ────────────────────────────────────────────────────────────────────────────────

const dlqIds = (r: Run) => r.dlqBodies.map((b) => (JSON.parse(b) as { id: string }).id);
function outcomesById(r: Run): Map<string, Outcome[]> {
  const by = new Map<string, Outcome[]>();
  for (const o of r.outcomes) by.set(o.id, [...(by.get(o.id) ?? []), o]);
  return by;
}
const terminal = (os: Outcome[] | undefined) => (os ?? []).filter((o) => o.outcome !== 'failed');

/** Outcomes the handler reached (the observer logs each before publishing it), optionally by id prefix. */
const observed = (r: Run, prefix = '') =>
  r.logLines.filter((l) => {
    const line = JSON.parse(l) as { message?: string; correlation_id?: string };
    return line.message?.startsWith('transition ') && (line.correlation_id ?? '').startsWith(prefix);
  }).length;

function accounting(r: Run): string {
  const byKind = Object.fromEntries(
    OUTCOME_KINDS.map((k) => [k, r.outcomes.filter((o) => o.outcome === k).length]),
  );
  const by = outcomesById(r);
  const dlq = dlqIds(r);
  const ids = r.plan.transitions;
  const repeated = ids.filter((t) => (by.get(t.id)?.length ?? 0) > 1).length;
  const expectations = Object.fromEntries(
    [...new Set(ids.map((t) => t.expect))].map((e) => [e, ids.filter((t) => t.expect === e).length]),
  );
  const lines = [
    `chaos run (${FULL ? 'full' : 'shortened'}): ${ids.length} transitions, ${r.plan.jobs.length} jobs, ${r.plan.messages.length} messages sent (${ids.filter((t) => t.duplicated).length} delivered twice)`,
    `  planned: ${JSON.stringify(expectations)}`,
    `  outcomes published: ${r.outcomes.length} ${JSON.stringify(byKind)}`,
    `  ids with a terminal outcome: ${ids.filter((t) => terminal(by.get(t.id)).length > 0).length}; with more than one outcome: ${repeated}`,
    `  DLQ: ${dlq.length} messages (${dlq.filter((id) => id.startsWith('poison-')).length} of them poisoned), ${new Set(dlq).size} ids`,
    `  event source mapping: ${JSON.stringify(r.mapping)}; redeliveries: ${r.mapping.records - r.plan.messages.length}`,
    `  provider requests: ${r.sandbox.requests} ${JSON.stringify(r.sandbox.byOperation)}`,
    `  faults injected: ${r.sandbox.faults} ${JSON.stringify(r.faults)}`,
    `  results queue: ${r.lossy.calls} SendMessageBatch calls, ${r.lossy.dropped} failed by injection, ${r.lossy.poisoned} poisoned entries refused; ${observed(r) - r.outcomes.length} outcomes reached (${observed(r, 'poison-')} poisoned) but could not be published, so their messages stayed`,
    `  scanned for secrets: ${r.logLines.length} log lines, ${r.consoleLines.length} console lines, ${r.resultBodies.length} results, ${r.dlqBodies.length} DLQ bodies, ${r.signatures.size} signatures`,
    `  drained in ${(r.drainedMs / 1000).toFixed(1)} s`,
  ];
  return lines.join('\n');
}

// ── the assertions ────────────────────────────────────────────────────────────────────────────

describe(`chaos: ${TRANSITIONS} transitions under faults`, () => {
  it('the faults happened: slow-downs, hangs past the client timeout, resets, lost result sends, redeliveries', () => {
    expect(run.faults.slowDown).toBeGreaterThan(0);
    expect(run.faults.hang).toBeGreaterThan(0);
    expect(run.faults.reset).toBeGreaterThan(0);
    expect(run.faults.slowDown + run.faults.hang + run.faults.reset).toBe(run.sandbox.faults);
    expect(run.lossy.dropped).toBeGreaterThan(0);
    expect(run.mapping.records).toBeGreaterThan(run.plan.messages.length);
  });

  it('every transition id has a terminal outcome or its message in the DLQ', () => {
    const by = outcomesById(run);
    const dlq = new Set(dlqIds(run));
    const unaccounted = run.plan.transitions.filter(
      (t) => terminal(by.get(t.id)).length === 0 && !dlq.has(t.id),
    );
    expect(unaccounted.map((t) => t.id)).toEqual([]);
    // And nothing else: every outcome and every DLQ message belongs to a planned transition.
    const planned = new Set(run.plan.transitions.map((t) => t.id));
    expect(run.outcomes.filter((o) => !planned.has(o.id)).map((o) => o.id)).toEqual([]);
    expect([...dlq].filter((id) => !planned.has(id))).toEqual([]);
  });

  it('a message leaves the queue only once its outcome is published: poisoned outcomes end in the DLQ', () => {
    const by = outcomesById(run);
    const dlq = dlqIds(run);
    const poison = run.plan.transitions.filter((t) => t.expect === 'poison');
    for (const t of poison) {
      expect(by.get(t.id), `${t.id} published nothing`).toBeUndefined();
      expect(dlq.filter((id) => id === t.id).length, `${t.id} is in the DLQ`).toBe(t.duplicated ? 2 : 1);
      // The change itself was made: only its report is missing, so its message was kept.
      expect(run.store.get(`${t.provider}:${t.jobId}`)?.status).toBe('Ready');
    }
  });

  it('no id has contradicting outcomes, and each id ends as planned', () => {
    const by = outcomesById(run);
    const problems: string[] = [];
    const allowed: Record<Exclude<Expectation, 'poison'>, OutcomeKind[]> = {
      'in-effect': ['applied', 'unchanged'],
      unchanged: ['unchanged'],
      rejected: ['rejected'],
      'not-allowed': ['rejected'],
      expired: ['expired'],
      invalid: ['invalid'],
    };
    for (const t of run.plan.transitions) {
      if (t.expect === 'poison') continue;
      const outcomes = by.get(t.id) ?? [];
      const c = contradiction(outcomes.map((o) => o.outcome));
      if (c) problems.push(`${t.id}: contradicting outcomes (${c})`);
      for (const o of terminal(outcomes)) {
        if (!allowed[t.expect].includes(o.outcome))
          problems.push(`${t.id}: ${o.outcome}, planned ${t.expect}`);
        if (
          o.provider !== t.provider ||
          o.jobId !== (t.expect === 'invalid' && t.field === 'jobId' ? o.jobId : t.jobId)
        )
          problems.push(`${t.id}: outcome for ${o.provider}:${o.jobId}`);
        if (t.expect === 'not-allowed' && o.error?.code !== 'TargetNotAllowed')
          problems.push(`${t.id}: ${o.error?.code}`);
        if (t.expect === 'rejected' && o.error?.code === 'TargetNotAllowed')
          problems.push(`${t.id}: TargetNotAllowed`);
        if (t.expect === 'invalid' && o.error?.field !== t.field)
          problems.push(`${t.id}: field ${o.error?.field}, not ${t.field}`);
        if (o.outcome === 'applied') {
          const want =
            t.change.kind === 'priority'
              ? { priority: t.change.value }
              : { status: t.change.kind === 'Ready' ? 'Ready' : 'Cancelling' };
          for (const [k, v] of Object.entries(want))
            if (o[k as 'status' | 'priority'] !== v)
              problems.push(`${t.id}: applied with ${k} ${o[k as 'status']}`);
        }
      }
    }
    expect(problems).toEqual([]);
  });

  it('`failed` only ever means transient trouble: throttling, 5xx, timeouts, resets', () => {
    const failed = run.outcomes.filter((x) => x.outcome === 'failed');
    for (const o of failed) {
      const status = o.error?.httpStatus ?? null;
      expect(status === null || status === 429 || status >= 500, JSON.stringify(o.error)).toBe(true);
      if (status === null)
        expect(o.error?.code, JSON.stringify(o.error)).toMatch(
          /^(Timeout|DeadlineExceeded|Aborted|E[A-Z]+)$/,
        );
    }
  });

  it("the sandbox's job table agrees with the outcomes", () => {
    const by = outcomesById(run);
    const dlq = new Set(dlqIds(run));
    const problems: string[] = [];
    expect(run.storeCount, 'no job was created or lost').toBe(run.plan.jobs.length);
    for (const { seed, transitions: ts } of run.plan.jobs) {
      const job = run.store.get(`${seed.provider}:${seed.jobId}`);
      if (!job) {
        problems.push(`${seed.jobId}: missing`);
        continue;
      }
      // What may have been sent: planned changes that are in effect (some outcome says so) or
      // that may have been made without a report (their message is in the DLQ).
      const inEffect = (t: Planned) => terminal(by.get(t.id)).length > 0;
      const effective = ts.filter((t) => (t.expect === 'in-effect' || t.expect === 'poison') && inEffect(t));
      const maybe = ts.filter((t) => (t.expect === 'in-effect' || t.expect === 'poison') && dlq.has(t.id));
      const statusFrom = (t: Planned) =>
        t.change.kind === 'Ready' ? 'Ready' : t.change.kind === 'Cancelled' ? 'Cancelling' : null;

      const wantStatus = effective.map(statusFrom).find((x) => x !== null);
      const possibleStatus = new Set([seed.status, ...maybe.map(statusFrom).filter((x) => x !== null)]);
      if (wantStatus !== undefined ? job.status !== wantStatus : !possibleStatus.has(job.status as never))
        problems.push(
          `${seed.jobId}: ${seed.status} → ${job.status}, outcomes say ${wantStatus ?? [...possibleStatus]}`,
        );

      const priorityOf = (t: Planned) => (t.change.kind === 'priority' ? t.change.value : null);
      const wantPriority = effective.map(priorityOf).find((x) => x !== null);
      const possiblePriority = new Set([seed.priority, ...maybe.map(priorityOf).filter((x) => x !== null)]);
      if (wantPriority !== undefined ? job.priority !== wantPriority : !possiblePriority.has(job.priority))
        problems.push(
          `${seed.jobId}: priority ${seed.priority} → ${job.priority}, outcomes say ${wantPriority ?? [...possiblePriority]}`,
        );
    }
    expect(problems).toEqual([]);
    // The plan makes both kinds of check bite: changed jobs, and jobs that must not have changed.
    expect(
      run.plan.jobs.some((j) =>
        j.transitions.every(
          (t) => t.expect === 'invalid' || t.expect === 'expired' || t.expect === 'not-allowed',
        ),
      ),
    ).toBe(true);
  });

  it('no log line, outcome or DLQ message shows a secret key, a session token or a signature', () => {
    expect(Object.keys(run.secrets).sort()).toEqual([
      'ALIBABA_CLOUD_ACCESS_KEY_ID',
      'ALIBABA_CLOUD_ACCESS_KEY_SECRET',
      'ALIBABA_CLOUD_SECURITY_TOKEN',
      'AWS_ACCESS_KEY_ID',
      'AWS_SECRET_ACCESS_KEY',
      'AWS_SESSION_TOKEN',
      'TENCENTCLOUD_SECRETID',
      'TENCENTCLOUD_SECRETKEY',
      'TENCENTCLOUD_SESSIONTOKEN',
    ]);
    expect(run.signatures.size).toBeGreaterThan(run.plan.transitions.length);
    expect(run.logLines.length).toBeGreaterThanOrEqual(run.outcomes.length);
    const texts: [string, string][] = [
      ...run.logLines.map((l, i) => [`log line ${i}`, l] as [string, string]),
      ...run.consoleLines.map((l, i) => [`console line ${i}`, l] as [string, string]),
      ...run.mappingErrors.map((l, i) => [`event source mapping error ${i}`, l] as [string, string]),
      ...run.resultBodies.map((l, i) => [`result ${i}`, l] as [string, string]),
      ...run.dlqBodies.map((l, i) => [`DLQ message ${i}`, l] as [string, string]),
    ];
    expect(findLeaks(texts, { literals: run.secrets, signatures: run.signatures })).toEqual([]);
  });
});
