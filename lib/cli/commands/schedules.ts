/**
 * `jobctl schedules`: the schedules serverless.yml declares, read exactly as `jobctl run` and a
 * deploy read them (lib/schedules), with their next fire times — the way to check a cron
 * expression and its time zone before it fires at 01:00 on the wrong day.
 */
import { describeSchedules, loadSchedules, ScheduleConfigError } from '../../schedules/serverless';
import { offsetMs } from '../../schedules/zone';
import { type Command, type Io, parseOptions, UsageError, writeLine } from '../command';
import { intOption } from '../flags';
import { table, wantJson } from '../format';

const HELP = `
usage: jobctl schedules [--file serverless.yml] [--stage S] [--from ISO-TIME] [--count N] [--json]

Lists each schedule declared in serverless.yml (the "schedule" events of its functions): name,
function, expression, time zone, whether it is enabled, and its next N fire times after --from.
On a terminal as a table (fire times in the schedule's own time zone); piped or with --json as
one JSON object per schedule per line:
{"name","function","expression","timezone","enabled","description","next":[ISO-TIME in UTC, …]}.

options:
  --file PATH        the serverless.yml to read (default ./serverless.yml)
  --stage S          the stage its variables resolve for (default: the file's provider.stage, else dev)
  --from ISO-TIME    list fire times after this instant (default now), e.g. 2026-11-24T00:00:00Z
  --count N          fire times per schedule, 1–100 (default 3)
  --json             JSON lines even on a terminal

environment: \${env:…} variables in serverless.yml are read from the environment.

exit codes: 0 done, 2 bad options or a schedule that would not deploy (named in the message),
            1 anything else
`;

export const command: Command = {
  name: 'schedules',
  summary: 'list the schedules in serverless.yml with their next fire times',
  help: HELP,
  run,
};

async function run(argv: string[], io: Io): Promise<number> {
  const { values } = parseOptions(argv, {
    file: { type: 'string' },
    stage: { type: 'string' },
    from: { type: 'string' },
    count: { type: 'string' },
    json: { type: 'boolean' },
  });
  const count = intOption('count', values.count, 3, 1, 100);
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
    const schedules = await loadSchedules(values.file ?? 'serverless.yml', {
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
      const [first, ...later] = r.next.map((t) => local(t, r.timezone));
      return [
        [r.name, r.enabled ? 'yes' : 'no', r.expression, r.timezone, first ?? '(never again)'],
        ...later.map((t) => ['', '', '', '', t]),
      ];
    }),
  );
  for (const line of lines) writeLine(io.stdout, line);
  return 0;
}

/** `2026-11-25 01:00 +08:00`: the wall time the schedule's author wrote the expression in. */
function local(iso: string, timezone: string): string {
  const t = Date.parse(iso);
  const offset = offsetMs(t, timezone);
  const wall = new Date(t + offset).toISOString().slice(0, 16).replace('T', ' ');
  const sign = offset < 0 ? '-' : '+';
  const abs = Math.abs(offset) / 60_000;
  return `${wall} ${sign}${String(Math.floor(abs / 60)).padStart(2, '0')}:${String(abs % 60).padStart(2, '0')}`;
}
