/**
 * `npm run bench`: every measure of issue 8, each a ratio against a baseline measured in the same
 * run (min / median / max over repeats), printed as a table and written to bench/results.json.
 * Not part of `npm test`: figures are reported, never asserted. Bounded: every benchmark runs a
 * fixed number of repeats and gives up on a stuck run.
 */
import { writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { batch } from './batch';
import { coldStart } from './cold-start';
import { cos } from './cos';
import { ledger } from './ledger';
import { type Benchmark, type Row, round } from './measure';
import { oss } from './oss';
import { planBench } from './plan';
import { s3 } from './s3';
import { select } from './select';
import { state } from './state';

const BENCHMARKS: Benchmark[] = [cos, oss, s3, batch, state, coldStart, select, ledger, planBench];

const HELP = `
usage: npm run bench -- [options]

Runs the benchmarks of issue 8 and prints each figure as min / median / max over repeats, with
its target; writes bench/results.json. Each ratio's baseline is measured in the same run,
interleaved with what it is compared to, so that a busy machine slows both alike.

  ${BENCHMARKS.map((b) => `${b.name.padEnd(11)} ${b.summary}`).join('\n  ')}

options:
  --quick        fewer calls and repeats (under a minute; the full run takes about two)
  --only NAMES   run only these benchmarks (comma-separated names from the list above)
  --out FILE     write the results here instead of bench/results.json
  -h, --help     this text

exit codes: 0 ran (whether or not every target was met), 1 a benchmark failed to run, 2 bad options
`;

function fmt(x: number, unit: Row['unit']): string {
  if (!Number.isFinite(x)) return '—';
  return unit === 'MB' ? String(Math.round(x)) : x.toFixed(2);
}

function table(rows: Row[]): string {
  const head = ['measure', 'baseline', 'min', 'median', 'max', 'target', ''];
  const body = rows.map((r) => [
    r.measure,
    r.baseline,
    fmt(r.value.min, r.unit),
    fmt(r.value.median, r.unit),
    fmt(r.value.max, r.unit),
    `${r.target.op === '<=' ? '≤' : '≥'} ${r.target.value}${r.unit === '×' ? '×' : ` ${r.unit}`}`,
    r.pass ? 'ok' : 'MISSED',
  ]);
  const widths = head.map((h, i) => Math.max(h.length, ...body.map((b) => b[i]!.length)));
  const line = (cells: string[]) =>
    cells.map((c, i) => (i >= 2 && i <= 4 ? c.padStart(widths[i]!) : c.padEnd(widths[i]!))).join('  ');
  return [line(head), widths.map((w) => '-'.repeat(w)).join('  '), ...body.map(line)].join('\n');
}

async function main(argv: string[]): Promise<number> {
  let values: { quick?: boolean; only?: string; out?: string; help?: boolean };
  try {
    ({ values } = parseArgs({
      args: argv,
      options: {
        quick: { type: 'boolean' },
        only: { type: 'string' },
        out: { type: 'string' },
        help: { type: 'boolean', short: 'h' },
      },
      strict: true,
    }));
  } catch (e) {
    process.stderr.write(`bench: ${(e as Error).message}\n${HELP}`);
    return 2;
  }
  if (values.help) {
    process.stdout.write(HELP.trimStart());
    return 0;
  }
  const names = values.only
    ?.split(',')
    .map((s) => s.trim())
    .filter(Boolean);
  const unknown = names?.filter((n) => !BENCHMARKS.some((b) => b.name === n)) ?? [];
  if (unknown.length > 0) {
    process.stderr.write(
      `bench: unknown benchmark ${unknown.join(', ')}; known: ${BENCHMARKS.map((b) => b.name).join(', ')}\n`,
    );
    return 2;
  }
  const chosen = names ? BENCHMARKS.filter((b) => names.includes(b.name)) : BENCHMARKS;
  const quick = values.quick === true;
  const log = (line: string) => process.stderr.write(`${line}\n`);

  const started = Date.now();
  const rows: Row[] = [];
  const failures: { benchmark: string; error: string }[] = [];
  for (const b of chosen) {
    const t0 = performance.now();
    try {
      rows.push(...(await b.run({ quick, log })));
    } catch (e) {
      failures.push({ benchmark: b.name, error: (e as Error).stack ?? String(e) });
      log(`bench: ${b.name} failed: ${(e as Error).message}`);
    }
    log(`bench: ${b.name} took ${round((performance.now() - t0) / 1000, 1)} s`);
  }

  process.stdout.write(`\n${table(rows)}\n`);
  const out = values.out ?? path.join(import.meta.dirname, 'results.json');
  await writeFile(
    out,
    `${JSON.stringify(
      {
        date: new Date(started).toISOString(),
        quick,
        node: process.version,
        machine: {
          cpus: os.cpus().length,
          model: os.cpus()[0]?.model ?? '',
          loadavg: os.loadavg().map((l) => round(l)),
        },
        seconds: round((Date.now() - started) / 1000, 1),
        rows,
        failures,
      },
      null,
      2,
    )}\n`,
  );
  process.stdout.write(
    `\nwritten to ${path.relative(process.cwd(), out)}${failures.length ? `; ${failures.length} benchmark(s) failed` : ''}\n`,
  );
  return failures.length > 0 ? 1 : 0;
}

// The SDK's Node 20 notice would only clutter the table; Lambda runs Node 22.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
process.exitCode = await main(process.argv.slice(2));
// Keep-alive sockets and SDK clients must not hold the process open once the table is out.
process.exit();
