/**
 * Every shell block of README.md and docs/*.md marked runnable (a fence with the info string
 * `sh runnable`) is run, in document order, by bash against a fresh `jobctl run` — the way a new
 * user pastes them into a second terminal. A README line that stops working fails here.
 *
 * The blocks run in a scratch directory that looks like a fresh clone (the project's files linked
 * in), so `.jobctl/env` and `$PWD/bin/jobctl.mjs` mean what they mean in the README. Each runs in
 * the tour's second terminal: `jobctl run`'s lines exported and the `jobctl` alias set, as the
 * README's first runnable block does.
 */
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import {
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const ROOT = resolve('.');
const DOCS = [
  'README.md',
  ...readdirSync('docs')
    .filter((f) => f.endsWith('.md'))
    .map((f) => `docs/${f}`),
];

interface Block {
  file: string;
  line: number;
  script: string;
}

/** The runnable blocks of one Markdown file: fences opened with ```sh runnable. */
function runnableBlocks(file: string, text: string): Block[] {
  const out: Block[] = [];
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    if (!/^```sh runnable\s*$/.test(lines[i]!)) continue;
    const start = i + 1;
    let end = start;
    while (end < lines.length && !/^```\s*$/.test(lines[end]!)) end++;
    out.push({ file, line: start, script: lines.slice(start, end).join('\n') });
    i = end;
  }
  return out;
}

/** The second terminal of the README's tour, which every block may assume. */
const TERMINAL_2 = 'set -a; . .jobctl/env; set +a\nalias jobctl="node $PWD/bin/jobctl.mjs"';

const blocks = DOCS.flatMap((f) => runnableBlocks(f, readFileSync(f, 'utf8')));

let dir: string;
let child: ChildProcess;
let stderr = '';

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'jobctl-docs-'));
  for (const f of [
    'bin',
    'lib',
    'functions',
    'events',
    'node_modules',
    'package.json',
    'serverless.yml',
    'tsconfig.json',
  ])
    symlinkSync(join(ROOT, f), join(dir, f));
  mkdirSync(join(dir, '.jobctl'));
  child = spawn(
    process.execPath,
    [
      join(ROOT, 'bin/jobctl.mjs'),
      'run',
      '--export-file',
      '.jobctl/env',
      '--queue-port',
      '0',
      '--sandbox-port',
      '0',
      '--dynamodb-port',
      '0',
    ],
    { cwd: dir, env: cleanEnv(), stdio: ['ignore', 'pipe', 'pipe'] },
  );
  child.stderr!.on('data', (d) => {
    stderr += d;
  });
  await new Promise<void>((ready, fail) => {
    let out = '';
    child.on('exit', (code) => fail(new Error(`jobctl run exited ${code} before ready: ${stderr}`)));
    child.stdout!.on('data', (d) => {
      out += d;
      if (out.includes('JOBCTL_READY=1\n')) ready();
    });
  });
}, 60_000);

afterAll(async () => {
  if (child && child.exitCode === null) {
    child.kill('SIGINT');
    await new Promise((r) => child.once('exit', r));
  }
  if (dir) rmSync(dir, { recursive: true, force: true });
});

/** A new user's terminal: nothing of a queue or provider configured. */
function cleanEnv(): NodeJS.ProcessEnv {
  const env = { ...process.env };
  for (const k of Object.keys(env))
    if (/^(REQUESTS_|RESULTS_|DLQ_|COS_|OSS_|TENCENTCLOUD_|ALIBABA_|AWS_|JOBCTL_)/.test(k)) delete env[k];
  return env;
}

describe('runnable shell blocks of README.md and docs/', () => {
  it('there are some (the tour at least)', () => {
    expect(blocks.filter((b) => b.file === 'README.md').length).toBeGreaterThanOrEqual(3);
  });

  it.each(blocks.map((b) => [`${b.file}:${b.line}`, b] as const))(
    '%s',
    (_, block) => {
      const script = join(dir, 'block.sh');
      // A script file, not `bash -c`: aliases defined on one line apply to the next, as when pasted.
      writeFileSync(script, `shopt -s expand_aliases\nset -e\n${TERMINAL_2}\n${block.script}\n`);
      const r = spawnSync('bash', [script], { cwd: dir, env: cleanEnv(), encoding: 'utf8', timeout: 90_000 });
      expect(r.status, `${block.file}:${block.line}\n--- stdout\n${r.stdout}\n--- stderr\n${r.stderr}`).toBe(
        0,
      );
      expect(r.stderr).not.toMatch(/ECONNREFUSED|unknown option|command not found/);
    },
    100_000,
  );
});
