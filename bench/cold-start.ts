/**
 * Cold start: each function bundled with esbuild exactly as serverless.yml's `custom.esbuild`
 * deploys it (read from the file, so the two cannot drift apart), then loaded in a fresh `node`
 * process with the deployed NODE_OPTIONS; the figure is the time to import the bundle, against a
 * bundle of a function that imports only @aws-sdk/client-sqs. Target ≤ 1.25×; bundle bytes and the
 * largest inputs (esbuild metafile) are reported so that a regression can be traced to a package.
 */
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { promisify } from 'node:util';
import { type BuildOptions, build, type Metafile, type Plugin } from 'esbuild';
import { parse } from 'yaml';
import { type Benchmark, ratios, round, row, spread } from './measure';

const run = promisify(execFile);
const ROOT = path.resolve(import.meta.dirname, '..');

/** serverless-esbuild's own options, which it strips before calling esbuild (bundle.js). */
const PLUGIN_ONLY = new Set([
  'concurrency',
  'zipConcurrency',
  'exclude',
  'nativeZip',
  'packager',
  'packagePath',
  'watch',
  'keepOutputDirectory',
  'packagerOptions',
  'installExtraArgs',
  'outputFileExtension',
  'outputBuildFolder',
  'outputWorkFolder',
  'nodeExternals',
  'skipBuild',
  'skipRebuild',
  'skipBuildExcludeFns',
  'stripEntryResolveExtensions',
  'disposeContext',
  'config',
]);

interface Deployed {
  esbuild: BuildOptions;
  extension: string;
  nodeOptions: string[];
  functions: Record<string, string>;
}

/** The build options and handlers serverless.yml declares, merged over serverless-esbuild's defaults. */
export async function deployedBuild(): Promise<Deployed> {
  const doc = parse(await readFile(path.join(ROOT, 'serverless.yml'), 'utf8')) as {
    custom?: { esbuild?: Record<string, unknown> };
    provider?: { environment?: Record<string, string> };
    functions?: Record<string, { handler: string }>;
  };
  const custom: Record<string, unknown> = {
    bundle: true,
    platform: 'node',
    exclude: ['aws-sdk'],
    outputFileExtension: '.js',
    ...doc.custom?.esbuild,
  };
  const exclude = (custom.exclude as string[] | undefined) ?? [];
  const esbuild: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(custom)) if (!PLUGIN_ONLY.has(k)) esbuild[k] = v;
  esbuild.external = [
    ...((custom.external as string[] | undefined) ?? []),
    ...(exclude.includes('*') ? [] : exclude),
  ];
  const extension = String(custom.outputFileExtension);
  if (extension !== '.js') esbuild.outExtension = { '.js': extension };
  const functions: Record<string, string> = {};
  for (const [name, fn] of Object.entries(doc.functions ?? {})) {
    // `functions/transitions.handler` → functions/transitions.ts
    functions[name] = `${fn.handler.slice(0, fn.handler.lastIndexOf('.'))}.ts`;
  }
  const nodeOptions = (doc.provider?.environment?.NODE_OPTIONS ?? '').split(/\s+/).filter(Boolean);
  return { esbuild: esbuild as BuildOptions, extension, nodeOptions, functions };
}

interface Bundle {
  name: string;
  file: string;
  bytes: number;
  /** Bytes of the modules reachable from the entry by static imports: evaluated when the bundle loads. */
  loadedBytes: number;
  /**
   * The rest: reachable only through a dynamic `import()`. esbuild inlines those into a CommonJS
   * bundle (no code splitting outside ESM) and evaluates them only when called — but every byte is
   * still read and parsed at load.
   */
  lazyBytes: number;
  /** The largest lazy inputs, grouped by package. */
  lazyTop: { input: string; bytes: number }[];
}

const packageOf = (input: string): string => {
  const m = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(input);
  return m ? m[1]! : input.split('/').slice(0, 2).join('/');
};

/** Split the output's bytes into what loading evaluates and what only a dynamic import would. */
function anatomy(meta: Metafile, outfile: string): Omit<Bundle, 'name' | 'file' | 'bytes'> {
  const [, out] = Object.entries(meta.outputs).find(([k]) => k.endsWith(path.basename(outfile))) ?? [];
  const loaded = new Set<string>();
  const stack = out?.entryPoint ? [out.entryPoint] : [];
  while (stack.length > 0) {
    const f = stack.pop()!;
    if (loaded.has(f)) continue;
    loaded.add(f);
    for (const i of meta.inputs[f]?.imports ?? [])
      if (i.kind !== 'dynamic-import' && !i.external) stack.push(i.path);
  }
  let loadedBytes = 0;
  let lazyBytes = 0;
  const lazy = new Map<string, number>();
  for (const [input, { bytesInOutput }] of Object.entries(out?.inputs ?? {})) {
    if (loaded.has(input)) loadedBytes += bytesInOutput;
    else {
      lazyBytes += bytesInOutput;
      lazy.set(packageOf(input), (lazy.get(packageOf(input)) ?? 0) + bytesInOutput);
    }
  }
  const lazyTop = [...lazy]
    .sort((x, y) => y[1] - x[1])
    .slice(0, 8)
    .map(([input, bytes]) => ({ input, bytes }));
  return { loadedBytes, lazyBytes, lazyTop };
}

/**
 * For the what-if figure: every dynamic import left out of the bundle, as if each lazily loaded
 * part were a file of its own (ESM code splitting). Loading never evaluates them, so the bundle
 * still loads; nothing else about it changes.
 */
const lazyPartsOut: Plugin = {
  name: 'lazy-parts-out',
  setup(b) {
    b.onResolve({ filter: /.*/ }, (a) =>
      a.kind === 'dynamic-import' ? { path: a.path, external: true } : undefined,
    );
  },
};

async function bundle(
  d: Deployed,
  name: string,
  entry: string,
  outdir: string,
  plugins: Plugin[] = [],
): Promise<Bundle> {
  const result = await build({
    ...d.esbuild,
    absWorkingDir: ROOT,
    entryPoints: [entry],
    outdir: path.join(outdir, name),
    metafile: true,
    logLevel: 'silent',
    plugins,
  });
  const file = path.join(outdir, name, path.basename(entry).replace(/\.ts$/, d.extension));
  return { name, file, bytes: (await stat(file)).size, ...anatomy(result.metafile, file) };
}

/**
 * Milliseconds to load `file` in a fresh node process, measured inside it (spawn and node's own
 * start excluded): `require` for a CommonJS bundle, as Lambda loads a .cjs handler; `import()` otherwise.
 */
async function loadMs(file: string, format: BuildOptions['format'], nodeOptions: string[]): Promise<number> {
  const load =
    format === 'esm'
      ? `await import(${JSON.stringify(pathToFileURL(file).href)})`
      : `require(${JSON.stringify(file)})`;
  const script = `(async () => { const t = performance.now(); ${load}; process.stdout.write(String(performance.now() - t)); })()`;
  const { stdout } = await run(process.execPath, [...nodeOptions, '-e', script], {
    env: { PATH: process.env.PATH ?? '', AWS_REGION: 'us-east-1' },
  });
  const ms = Number(stdout);
  if (!Number.isFinite(ms)) throw new Error(`loading ${file} printed ${stdout.slice(0, 200)}`);
  return ms;
}

export const coldStart: Benchmark = {
  name: 'cold-start',
  summary: 'load time of each bundled function (esbuild as deployed) vs an SQS-only bundle',
  async run({ quick, log }) {
    const runs = quick ? 10 : 30;
    const d = await deployedBuild();
    const dir = await mkdtemp(path.join(tmpdir(), 'jobctl-cold-'));
    try {
      const baseline = await bundle(d, 'sqs-only', 'bench/fixtures/sqs-only.ts', dir);
      const fns = await Promise.all(Object.entries(d.functions).map(([n, e]) => bundle(d, n, e, dir)));
      // What-if: the first function with its lazily loaded parts in files of their own.
      const [firstName, firstEntry] = Object.entries(d.functions)[0]!;
      const split = await bundle(d, `${firstName}-lazy-parts-apart`, firstEntry, dir, [lazyPartsOut]);
      log(
        `cold-start: ${runs} fresh processes per bundle (NODE_OPTIONS ${d.nodeOptions.join(' ') || 'none'})`,
      );
      const all = [baseline, ...fns, split];
      const times = new Map(all.map((b) => [b.name, [] as number[]]));
      for (const b of all) await loadMs(b.file, d.esbuild.format, d.nodeOptions); // warm the file cache
      for (let r = 0; r < runs; r++) {
        const order = all.map((_, i) => all[(i + r) % all.length]!);
        for (const b of order) times.get(b.name)!.push(await loadMs(b.file, d.esbuild.format, d.nodeOptions));
      }
      const base = times.get(baseline.name)!;
      const kb = (n: number) => round(n / 1024, 1);
      return fns.map((f) =>
        row({
          id: `cold-start.${f.name}`,
          measure: `load of the bundled ${f.name} function (${kb(f.bytes)} KiB)`,
          baseline: `bundle importing only @aws-sdk/client-sqs (${kb(baseline.bytes)} KiB)`,
          unit: '×',
          value: spread(ratios(times.get(f.name)!, base)),
          target: { op: '<=', value: 1.25 },
          detail: {
            runs,
            nodeOptions: d.nodeOptions,
            loadMs: {
              [f.name]: round(spread(times.get(f.name)!).median, 1),
              baseline: round(spread(base).median, 1),
            },
            bytes: { [f.name]: f.bytes, baseline: baseline.bytes },
            kib: {
              loaded: kb(f.loadedBytes),
              lazy: kb(f.lazyBytes),
              baselineLoaded: kb(baseline.loadedBytes),
              baselineLazy: kb(baseline.lazyBytes),
            },
            largestLazyInputs: f.lazyTop.map((t) => `${t.input} ${kb(t.bytes)} KiB`),
            ...(f.name === firstName
              ? {
                  ifLazyPartsWereApart: {
                    kib: kb(split.bytes),
                    ratio: round(spread(ratios(times.get(split.name)!, base)).median),
                  },
                }
              : {}),
          },
        }),
      );
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  },
};
