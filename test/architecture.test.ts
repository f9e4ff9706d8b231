/**
 * The layout is the architecture (docs/architecture.md): a path says whether code ships to Lambda,
 * and imports run one way only. Reading the import lines of every non-test source file keeps it so
 * without a lint plugin: a forbidden import fails here with the file, the line and the rule.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';

const ROOT = resolve(import.meta.dirname, '..');

/** Which areas each area may import (besides itself). Anything not listed is forbidden. */
const MAY_IMPORT: Record<string, readonly string[]> = {
  'lib/cli': ['lib/local', 'lib/lambda', 'lib/core', 'lib/providers', 'functions'],
  'lib/local': ['lib/lambda', 'lib/core', 'lib/providers'],
  functions: ['lib/lambda', 'lib/core', 'lib/providers'],
  'lib/lambda': ['lib/core', 'lib/providers'],
  // core decides over provider *data*: names, rules, the job shapes and the error type it classifies.
  'lib/core': ['lib/providers'],
  'lib/providers': [],
};
/** core may read these provider modules only (a type-only import of anything else is fine). */
const CORE_MAY_USE = new Set(['lib/providers/types', 'lib/providers/rules', 'lib/providers/errors']);

function area(path: string): string | undefined {
  if (path.startsWith('functions/')) return 'functions';
  const m = /^lib\/[a-z]+/.exec(path);
  return m?.[0];
}

function sources(dir: string): string[] {
  const out: string[] = [];
  for (const e of readdirSync(join(ROOT, dir), { withFileTypes: true })) {
    const p = `${dir}/${e.name}`;
    if (e.isDirectory()) out.push(...sources(p));
    else if (e.name.endsWith('.ts') && !e.name.endsWith('.test.ts')) out.push(p);
  }
  return out;
}

interface Import {
  line: number;
  spec: string;
  typeOnly: boolean;
}

/** Static `import … from`, `export … from` and dynamic `import('…')`, with their line numbers. */
function importsOf(text: string): Import[] {
  const out: Import[] = [];
  const re = /(?:^|\n)\s*(import|export)(\s+type)?[^;'"]*?from\s*'([^']+)'|import\(\s*'([^']+)'\s*\)/g;
  for (const m of text.matchAll(re)) {
    const spec = m[3] ?? m[4]!;
    const line = text.slice(0, m.index + m[0].length).split('\n').length;
    out.push({ line, spec, typeOnly: Boolean(m[2]) });
  }
  return out;
}

const files = [...sources('lib'), ...sources('functions')];

describe('architecture', () => {
  it('reads the files it judges (the import reader is not blind)', () => {
    expect(files.length).toBeGreaterThan(50);
    const text = readFileSync(join(ROOT, 'lib/providers/index.ts'), 'utf8');
    expect(importsOf(text).map((i) => i.spec)).toEqual(
      expect.arrayContaining(['./aws-env', './secrets', './types', './cos/client', './s3/client']),
    );
    expect(importsOf("import type { A } from '../x';\nimport { B } from './y';")).toEqual([
      { line: 1, spec: '../x', typeOnly: true },
      { line: 2, spec: './y', typeOnly: false },
    ]);
  });

  it('imports run one way: cli → local → lambda → core → providers', () => {
    const wrong: string[] = [];
    for (const file of files) {
      const from = area(file);
      if (!from) continue;
      const text = readFileSync(join(ROOT, file), 'utf8');
      for (const imp of importsOf(text)) {
        if (!imp.spec.startsWith('.')) continue;
        const target = relative(ROOT, resolve(ROOT, dirname(file), imp.spec));
        const to = area(target);
        if (to === from) continue;
        const where = `${file}:${imp.line} imports ${target}`;
        if (!to) wrong.push(`${where} (outside lib/ and functions/: tests, bench)`);
        else if (!MAY_IMPORT[from]?.includes(to)) wrong.push(`${where} (${from} may not import ${to})`);
        else if (from === 'lib/core' && !imp.typeOnly && !CORE_MAY_USE.has(target.replace(/\.ts$/, '')))
          wrong.push(`${where} (core uses only providers' types, rules and errors)`);
      }
    }
    expect(wrong).toEqual([]);
  });

  it('no provider-name branch outside lib/providers (the sandbox emulates providers: exempt)', () => {
    // A branch on a provider name belongs in that provider's module or in providers/rules.ts as data;
    // lib/local/sandbox plays every provider's server, so branching by provider is its job.
    const branch = /[!=]==?\s*'(cos|oss|s3)'|'(cos|oss|s3)'\s*[!=]==?|case\s+'(cos|oss|s3)'\s*:/;
    const wrong: string[] = [];
    for (const file of files) {
      if (file.startsWith('lib/providers/') || file.startsWith('lib/local/sandbox/')) continue;
      readFileSync(join(ROOT, file), 'utf8')
        .split('\n')
        .forEach((text, i) => {
          if (branch.test(text)) wrong.push(`${file}:${i + 1}: ${text.trim()}`);
        });
    }
    expect(wrong).toEqual([]);
    expect(branch.test("if (p === 'oss') x();")).toBe(true);
    expect(branch.test("case 's3':")).toBe(true);
  });

  it('provider limits are defined once, in lib/providers/rules.ts', () => {
    // The issue found MAX_PRIORITY in four files; a copy drifts (as COS's and OSS's message caps did).
    const definition = /\b(?:const|let|var)\s+(MAX_PRIORITY|MAX_LIST_RESULTS)\b|=\s*2_?147_?483_?647\b/;
    const wrong = files
      .filter((f) => f !== 'lib/providers/rules.ts')
      .filter((f) => definition.test(readFileSync(join(ROOT, f), 'utf8')));
    expect(wrong).toEqual([]);
  });
});
