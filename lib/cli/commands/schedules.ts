/**
 * `jobctl schedules`: the schedules serverless.yml declares, read exactly as `jobctl run` and a
 * deploy read them (lib/local/serverless-yml.ts), with their next fire times — the way to check a cron
 * expression and its time zone before it fires at 01:00 on the wrong day.
 */
import { describeSchedules, loadSchedules, ScheduleConfigError } from '../../local/serverless-yml';
import { type Command, type Io, UsageError, writeLine } from '../command';
import { table, wallTime, wantJson } from '../format';
import { type OptionTable, optionsHelp, parseOptions } from '../options';

const OPTIONS = {
  file: {
    kind: 'string',
    arg: 'PATH',
    default: 'serverless.yml',
    help: 'the serverless.yml to read (default ./serverless.yml)',
  },
  stage: {
    kind: 'string',
    arg: 'S',
    help: "the stage its variables resolve for (default: the file's provider.stage, else dev)",
  },
  from: {
    kind: 'string',
    arg: 'ISO-TIME',
    help: 'list fire times after this instant (default now), e.g. 2026-11-24T00:00:00Z',
  },
  count: {
    kind: 'integer',
    arg: 'N',
    min: 1,
    max: 100,
    default: 3,
    help: 'fire times per schedule, 1–100 (default 3)',
  },
  json: { kind: 'boolean', help: 'JSON lines even on a terminal' },
} as const satisfies OptionTable;

const HELP = `
usage: jobctl schedules [--file serverless.yml] [--stage S] [--from ISO-TIME] [--count N] [--json]

Lists each schedule declared in serverless.yml (the "schedule" events of its functions): name,
function, expression, time zone, whether it is enabled, and its next N fire times after --from.
On a terminal as a table (fire times in the schedule's own time zone); piped or with --json as
one JSON object per schedule per line:
{"name","function","expression","timezone","enabled","description","next":[ISO-TIME in UTC, …]}.

${optionsHelp(OPTIONS)}

environment: \${env:…} variables in serverless.yml are read from the environment.

exit codes: 0 done, 2 bad options or a schedule that would not deploy (named in the message),
            1 anything else
`;

export const command: Command = { help: HELP, run };

async function run(argv: string[], io: Io): Promise<number> {
  const { values } = parseOptions(argv, OPTIONS);
  const count = values.count;
  let from = new Date();
  if (values.from !== undefined) {
    from = new Date(values.from);
    if (!/^\d{4}-\d{2}-\d{2}/.test(values.from) || Number.isNaN(from.getTime()))
      throw new UsageError(
        `--from must be an ISO 8601 time, e.g. 2026-11-24T00:00:00Z, not ${JSON.stringify(values.from)}`,
      );
  }
  let rows: ReturnType<typeof describeSchedules>;
  try {
    const schedules = await loadSchedules(values.file, {
      env: io.env,
      stage: values.stage,
    });
    rows = describeSchedules(schedules, { from, count });
  } catch (e) {
    if (!(e instanceof ScheduleConfigError)) throw e;
    writeLine(io.stderr, `jobctl schedules: ${e.message}`);
    return 2;
  }

  if (wantJson(io, values.json)) {
    for (const r of rows) writeLine(io.stdout, JSON.stringify(r));
    return 0;
  }
  if (rows.length === 0) {
    writeLine(io.stdout, 'no schedules declared');
    return 0;
  }
  const lines = table(
    ['NAME', 'ENABLED', 'EXPRESSION', 'TIME ZONE', 'NEXT'],
    rows.flatMap((r) => {
      const [first, ...later] = r.next.map((t) => wallTime(t, r.timezone));
      return [
        [r.name, r.enabled ? 'yes' : 'no', r.expression, r.timezone, first ?? '(never again)'],
        ...later.map((t) => ['', '', '', '', t]),
      ];
    }),
  );
  for (const line of lines) writeLine(io.stdout, line);
  return 0;
}
