/**
 * `jobctl apply`: transition messages executed directly, no queue — the same controller as the
 * functions, so an outcome here is the outcome the deployed controller would publish. Outcomes are
 * printed in input order while up to `--concurrency` provider conversations run at once; two
 * transitions of the same job run one after the other, in input order.
 */
import { type Controller, createController } from '../../controller';
import {
  errorFromProvider,
  errorFromUnknown,
  exitCodeFor,
  type Outcome,
  type OutcomeError,
  type OutcomeKind,
} from '../../outcome';
import { ProviderError } from '../../providers/errors';
import { providersFromEnv } from '../../providers/index';
import { RetriesExhausted } from '../../retry';
import { readControllerConfig } from '../../runtime';
import { isSelect, type JobTransition, parseTransitionBody, type SelectTransition } from '../../transition';
import { type Command, type Io, readInput, UsageError, writeLine } from '../command';
import { PROVIDER_ENV_HELP } from '../env';
import { type InputItem, splitTransitions } from '../input';
import { type OptionTable, optionsHelp, parseOptions } from '../options';
import { type Progress, progress } from '../progress';

const OPTIONS = {
  concurrency: {
    kind: 'integer',
    arg: 'N',
    min: 1,
    max: 64,
    default: 4,
    help: 'provider conversations at once, 1–64 (default 4)',
  },
  // Outcomes are JSON lines whatever stdout is; the flag is accepted so that every data command
  // takes --json, as the README says.
  json: { kind: 'boolean', help: 'JSON lines (always: outcomes are JSON on a terminal too)' },
} as const satisfies OptionTable;

const HELP = `
usage: jobctl apply [FILE|-] [--concurrency N] [--json]

Executes transition messages directly against the providers (no queue) and prints one outcome
per line as JSON on stdout, in input order.

Input (FILE, or standard input for - or no FILE): one transition object, a JSON array of them,
or JSON Lines. A transition with "select" is expanded with ListJobs and each selected job gets an
outcome of its own. An item that is not a valid transition becomes an "invalid" outcome naming
the field and the rule; the others still run.

Each outcome's id is the transition's "id", else cli/<n> (n: the item's position in the input;
cli/<n>/<jobId> for a select's jobs); its trigger is {"type":"cli"}.

${optionsHelp(OPTIONS)}

${PROVIDER_ENV_HELP}
  JOBCTL_ALLOWED_TARGETS   provider:account[@region] patterns; a transition outside them is
                           rejected (TargetNotAllowed) and nothing is sent

Progress is shown on stderr when it is a terminal.

exit codes (the worst outcome wins):
  0  every outcome applied or unchanged
  2  an invalid transition (or bad options, or empty input)
  3  a rejected or expired transition
  4  a failed transition (transient trouble outlived the retries)
  1  the input could not be read, or the configuration is wrong
`;

export const command: Command = { help: HELP, run };

const TRIGGER = { type: 'cli' } as const;

async function run(argv: string[], io: Io): Promise<number> {
  const { values, positionals } = parseOptions(argv, OPTIONS, { positionals: true });
  if (positionals.length > 1) throw new UsageError('give at most one FILE (or - for standard input)');
  const concurrency = values.concurrency;
  const policy = readControllerConfig(io.env);
  const items = splitTransitions(await readInput(positionals[0], io));
  if (items.length === 0) throw new UsageError('no transitions in the input');

  const providers = providersFromEnv(io.env, policy.retry.callTimeoutMs);
  const controller = createController({ providers, ...policy });
  const shown = progress(io, 'jobctl apply:', items.length);
  try {
    const units = schedule(items, controller, concurrency, io, shown);
    const kinds: OutcomeKind[] = [];
    for (const unit of units) {
      for (const pending of await unit) {
        const outcome = await pending;
        kinds.push(outcome.outcome);
        writeLine(io.stdout, JSON.stringify(outcome));
        shown.tick();
      }
    }
    return exitCodeFor(kinds);
  } finally {
    shown.done();
    providers.close();
  }
}

/**
 * Start every item; each resolves to its outcomes (one, or one per selected job) as promises, so
 * the caller prints them in input order as soon as each is ready.
 */
function schedule(
  items: InputItem[],
  controller: Controller,
  concurrency: number,
  io: Io,
  shown: Progress,
): Promise<Promise<Outcome>[]>[] {
  const slots = semaphore(concurrency);
  const turns = new Map<string, Promise<unknown>>();

  /** Run `fn` in a slot, after the previous call for the same job (if any) has finished. */
  const inTurn = <T>(key: string | null, fn: () => Promise<T>): Promise<T> => {
    const before = (key && turns.get(key)) || Promise.resolve();
    const result = before.then(async () => {
      await slots.acquire();
      try {
        return await fn();
      } finally {
        slots.release();
      }
    });
    if (key)
      turns.set(
        key,
        result.catch(() => {}),
      );
    return result;
  };

  return items.map((item, i) => {
    const id = `cli/${i + 1}`;
    const parsed = parseTransitionBody(item.body);
    const key = parsed.ok && !isSelect(parsed.value) ? jobKey(parsed.value) : null;
    const startedAt = new Date().toISOString();
    return inTurn(key, () => controller.handleBody(item.body, TRIGGER, { id }))
      .then(async (r): Promise<Promise<Outcome>[]> => {
        if (!('select' in r)) return [Promise.resolve(r)];
        const t = r.select as SelectTransition;
        let expansion: Awaited<ReturnType<Controller['expand']>>;
        try {
          expansion = await inTurn(null, () => controller.expand(t, { id }));
        } catch (e) {
          return [Promise.resolve(selectRefused(t, id, e, startedAt))];
        }
        const { transitions, matched } = expansion;
        if (transitions.length === 0) writeLine(io.stderr, `${item.where}: the select matched no jobs`);
        else if (expansion.truncated)
          writeLine(
            io.stderr,
            `${item.where}: the select matched ${matched > transitions.length ? matched : `more than ${matched}`} jobs; applying the first ${transitions.length} (select.max)`,
          );
        shown.add(transitions.length - 1);
        return transitions.map((jt) => inTurn(jobKey(jt), () => controller.apply(jt, TRIGGER, { id })));
      })
      .catch((e) => [Promise.resolve(internalFailure(item, id, e, startedAt))]);
  });
}

/** The outcome of a select that could not be expanded: refused by policy, expired, or ListJobs failing. */
function selectRefused(t: SelectTransition, id: string, e: unknown, startedAt: string): Outcome {
  let kind: OutcomeKind = 'failed';
  let error: OutcomeError;
  if (e instanceof RetriesExhausted) error = errorFromProvider(e.last);
  else if (e instanceof ProviderError) {
    error = errorFromProvider(e);
    if (e.code === 'Expired') kind = 'expired';
    else if (!e.retryable && e.kind !== 'config') kind = 'rejected';
  } else error = errorFromUnknown(e, 'ConfigurationError');
  return {
    id: t.id ?? id,
    provider: t.provider,
    region: t.region,
    account: t.account ?? null,
    jobId: null,
    action: t.action,
    outcome: kind,
    status: null,
    priority: null,
    error,
    attempts: 0,
    trigger: TRIGGER,
    startedAt,
    finishedAt: new Date().toISOString(),
  };
}

/** Only a bug gets here; the item still gets its line, and the run its exit code. */
function internalFailure(item: InputItem, id: string, e: unknown, startedAt: string): Outcome {
  return {
    id,
    provider: null,
    region: null,
    account: null,
    jobId: null,
    action: null,
    outcome: 'failed',
    status: null,
    priority: null,
    error: errorFromUnknown(e),
    attempts: 0,
    trigger: TRIGGER,
    startedAt,
    finishedAt: new Date().toISOString(),
    raw: item.body.slice(0, 8192),
  };
}

const jobKey = (t: JobTransition) =>
  `${t.provider}:${t.account ?? ''}:${t.appId ?? ''}:${t.region}:${t.jobId}`;

function semaphore(n: number) {
  let free = n;
  const waiting: (() => void)[] = [];
  return {
    acquire: (): Promise<void> => {
      if (free > 0) {
        free--;
        return Promise.resolve();
      }
      return new Promise((resolve) => waiting.push(resolve));
    },
    release: () => {
      const next = waiting.shift();
      if (next) next();
      else free++;
    },
  };
}
