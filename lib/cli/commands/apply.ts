/**
 * `jobctl apply`: transition messages executed directly, no queue — the same controller as the
 * functions, so an outcome here is the outcome the deployed controller would publish. Outcomes are
 * printed in input order while up to `--concurrency` provider conversations run at once; two
 * transitions of the same job run one after the other, in input order.
 */
import { type Controller, createController } from '../../core/controller';
import {
  cutUtf8,
  errorFromUnknown,
  exitCodeFor,
  type Frame,
  failed,
  fromError,
  type Outcome,
  type OutcomeKind,
  RAW_LIMIT_BYTES,
} from '../../core/outcome';
import { createChannel, createRunner, jobKey, type Runner } from '../../core/runner';
import { isSelect, parseTransitionBody, type SelectTransition } from '../../core/transition';
import { readControllerConfig } from '../../lambda/runtime';
import { providersFromEnv } from '../../providers/index';
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
outcome of its own, page by page (a select's listing gets 60 s in all, as the deployed function
would; a provider repeating its page token fails the select instead of looping). An item that is
not a valid transition becomes an "invalid" outcome naming the field and the rule; the others
still run.

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
  3  a rejected, expired or superseded transition
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
    const units = schedule(items, controller, createRunner(concurrency), io, shown);
    const kinds: OutcomeKind[] = [];
    for (const unit of units) {
      for await (const pending of unit) {
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
 * ListJobs time one select may take in all (its applies not counted): the deadline the queued
 * path gets from its function's timeout (serverless.yml: 60 s), which `apply` otherwise lacks.
 */
const SELECT_LIST_BUDGET_MS = 60_000;

/** Outcomes of a select started but not yet printed: bounds memory whatever the selection's size. */
const SELECT_AHEAD = 256;

/**
 * Start every item; each yields its outcomes (one, or one per selected job) as promises, so the
 * caller prints them in input order as soon as each is ready. A select's outcomes stream page by
 * page, never held all at once.
 */
function schedule(
  items: InputItem[],
  controller: Controller,
  runner: Runner,
  io: Io,
  shown: Progress,
): AsyncIterable<Promise<Outcome>>[] {
  return items.map((item, i) => {
    const id = `cli/${i + 1}`;
    const parsed = parseTransitionBody(item.body);
    const key = parsed.ok && !isSelect(parsed.value) ? jobKey(parsed.value) : null;
    const startedAt = new Date().toISOString();
    const frame = (t: SelectTransition | null): Frame => ({
      subject: {
        id: t ? (t.id ?? id) : id,
        provider: t?.provider ?? null,
        region: t?.region ?? null,
        account: t ? (t.account ?? null) : null,
        jobId: null,
        action: t?.action ?? null,
      },
      trigger: TRIGGER,
      startedAt,
      finishedAt: new Date().toISOString(),
    });
    const unit = createChannel<Promise<Outcome>>(SELECT_AHEAD);
    const first = runner.run(key, () => controller.handleBody(item.body, TRIGGER, { id }));
    void (async () => {
      try {
        const r = await first;
        if (!('select' in r)) return void (await unit.push(Promise.resolve(r)));
        const t = r.select;
        let selected = 0;
        try {
          const x = await controller.expand(t, { id, listBudgetMs: SELECT_LIST_BUDGET_MS }, async (page) => {
            // The first page's first outcome is the item's own line in the progress count.
            shown.add(selected === 0 ? page.length - 1 : page.length);
            selected += page.length;
            for (const jt of page)
              await unit.push(runner.run(jobKey(jt), () => controller.apply(jt, TRIGGER, { id })));
          });
          if (x.selected === 0) {
            shown.add(-1);
            writeLine(io.stderr, `${item.where}: the select matched no jobs`);
          } else if (x.truncated)
            writeLine(
              io.stderr,
              `${item.where}: the select matched ${x.matched > x.selected ? x.matched : `more than ${x.matched}`} jobs; applying the first ${x.selected} (select.max)`,
            );
        } catch (e) {
          // Refused by policy, expired, or ListJobs failing (pages already listed keep their outcomes).
          if (selected > 0) shown.add(1);
          await unit.push(Promise.resolve(fromError(frame(t), e, {}, 'ConfigurationError')));
        }
      } catch (e) {
        // Only a bug gets here; the item still gets its line, and the run its exit code.
        await unit.push(Promise.resolve(internalFailure(item, frame(null), e)));
      } finally {
        unit.close();
      }
    })();
    return unit;
  });
}

/** Only a bug gets here; the item still gets its line, and the run its exit code. */
function internalFailure(item: InputItem, frame: Frame, e: unknown): Outcome {
  return { ...failed(frame, errorFromUnknown(e)), raw: cutUtf8(item.body, RAW_LIMIT_BYTES) };
}
