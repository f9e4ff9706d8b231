/**
 * One declarative option table per command. Each option is written once — its kind, range,
 * default and description — and the node:util parseArgs configuration, the "options:" part of
 * `--help`, number parsing and the unknown-option message are all derived from it, so the help
 * can never list an option the parser refuses (or the other way round).
 */
import { parseArgs } from 'node:util';
import { didYouMean } from '../core/suggest';
import { UsageError } from './command';

export interface OptionSpec {
  /** `integer`/`number` arrive as numbers; a range (min/max) is checked here, with the rule in the message. */
  kind: 'string' | 'boolean' | 'integer' | 'number';
  multiple?: boolean;
  short?: string;
  /** The value's placeholder in the help (`N`, `FILE`); boolean options have none. */
  arg?: string;
  /** One or more lines; the first sits beside the option. */
  help: string;
  min?: number;
  max?: number;
  default?: string | number | boolean;
  /** Help heading the option is listed under (default "options"). */
  group?: string;
  /** Left out of the help (kept for scripts written against an older spelling). */
  hidden?: boolean;
}

export type OptionTable = Record<string, OptionSpec>;

type One<S extends OptionSpec> = S['kind'] extends 'boolean'
  ? boolean
  : S['kind'] extends 'integer' | 'number'
    ? number
    : string;
type ValueOf<S extends OptionSpec> = S extends { multiple: true } ? One<S>[] : One<S>;

export type Values<T extends OptionTable> = {
  -readonly [K in keyof T]: T[K] extends { default: string | number | boolean }
    ? ValueOf<T[K]>
    : ValueOf<T[K]> | undefined;
};

export interface Parsed<T extends OptionTable> {
  values: Values<T>;
  positionals: string[];
}

const HELP_OPTION: OptionSpec = { kind: 'boolean', short: 'h', help: 'this text' };

const NUMBER = /^[+-]?(\d+(\.\d*)?|\.\d+)(e[+-]?\d+)?$/i;

/** Parse `argv` against the table; every refusal is a UsageError (exit 2) in jobctl's own words. */
export function parseOptions<T extends OptionTable>(
  argv: readonly string[],
  table: T,
  { positionals: allowPositionals = false }: { positionals?: boolean } = {},
): Parsed<T> {
  const all: OptionTable = { help: HELP_OPTION, ...table };
  const byShort = new Map(Object.entries(all).flatMap(([n, s]) => (s.short ? [[s.short, n] as const] : [])));
  const args = joinNegativeValues(argv, all, byShort);

  // Unknown options first, with the command's valid ones and a near miss: Node's own text names
  // neither (and quotes unevenly).
  const loose = parseArgs({
    args,
    options: parserConfig(all),
    strict: false,
    allowPositionals: true,
    tokens: true,
  });
  for (const t of loose.tokens ?? []) {
    if (t.kind !== 'option' || t.name in all) continue;
    const names = Object.keys(table).map((n) => `--${n}`);
    const near = didYouMean(`--${t.name}`, names);
    throw new UsageError(
      `unknown option ${t.rawName}${near ? ` (did you mean ${near}?)` : ''}; ` +
        (names.length ? `valid options: ${names.join(', ')}` : 'this command takes no options'),
    );
  }

  let parsed: ReturnType<typeof parseArgs>;
  try {
    parsed = parseArgs({ args, options: parserConfig(all), strict: true, allowPositionals, tokens: true });
  } catch (e) {
    throw new UsageError(restate(e as Error & { code?: string }, all));
  }
  const raw = parsed.values as Record<string, string | boolean | (string | boolean)[] | undefined>;
  const values: Record<string, unknown> = {};
  for (const [name, spec] of Object.entries(table)) {
    const v = raw[name];
    if (v === undefined) {
      if (spec.default !== undefined) values[name] = spec.default;
      continue;
    }
    if (spec.kind === 'integer' || spec.kind === 'number')
      values[name] = Array.isArray(v)
        ? v.map((x) => toNumber(name, spec, String(x)))
        : toNumber(name, spec, String(v));
    else values[name] = v;
  }
  return { values: values as Values<T>, positionals: parsed.positionals };
}

function parserConfig(all: OptionTable) {
  const out: Record<string, { type: 'string' | 'boolean'; short?: string; multiple?: boolean }> = {};
  for (const [n, s] of Object.entries(all)) {
    out[n] = { type: s.kind === 'boolean' ? 'boolean' : 'string' };
    if (s.short) out[n].short = s.short;
    if (s.multiple) out[n].multiple = true;
  }
  return out;
}

/**
 * `--priority -1`: parseArgs takes a value that looks like an option as "ambiguous"; a number is
 * never an option here, so it is joined (`--priority=-1`) and meets the option's range rule.
 */
function joinNegativeValues(
  argv: readonly string[],
  all: OptionTable,
  byShort: Map<string, string>,
): string[] {
  const out: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    const next = argv[i + 1];
    if (a === '--') {
      out.push(...argv.slice(i));
      break;
    }
    const name = a.startsWith('--') ? a.slice(2) : /^-[^-]$/.test(a) ? byShort.get(a.slice(1)) : undefined;
    const spec = name === undefined ? undefined : all[name];
    if (spec && spec.kind !== 'boolean' && next?.startsWith('-') && NUMBER.test(next)) {
      out.push(`--${name}=${next}`);
      i++;
    } else out.push(a);
  }
  return out;
}

function toNumber(name: string, spec: OptionSpec, raw: string): number {
  const n = Number(raw);
  const ranged = spec.min !== undefined && spec.max !== undefined;
  const rule =
    spec.kind === 'integer'
      ? ranged
        ? `an integer from ${spec.min} to ${spec.max}`
        : 'an integer'
      : ranged
        ? `a number from ${spec.min} to ${spec.max}`
        : 'a number';
  if (!NUMBER.test(raw.trim()) || !Number.isFinite(n) || (spec.kind === 'integer' && !Number.isInteger(n)))
    throw new UsageError(`--${name} must be ${rule}, not ${JSON.stringify(raw)}`);
  if ((spec.min !== undefined && n < spec.min) || (spec.max !== undefined && n > spec.max))
    throw new UsageError(`--${name} must be ${rule}, not ${raw}`);
  return n;
}

function restate(e: Error & { code?: string }, all: OptionTable): string {
  const m = /'(-[^' ]+)/.exec(e.message);
  const flag = m?.[1] ?? '';
  const name = flag.replace(/^-+/, '');
  const spec = all[name] ?? Object.values(all).find((s) => s.short === name);
  switch (e.code) {
    case 'ERR_PARSE_ARGS_INVALID_OPTION_VALUE':
      return spec?.kind === 'boolean'
        ? `${flag} takes no value`
        : `${flag} needs a value${spec?.arg ? ` (${flag} ${spec.arg})` : ''}`;
    case 'ERR_PARSE_ARGS_UNEXPECTED_POSITIONAL': {
      const arg = /'([^']*)'/.exec(e.message)?.[1];
      return `unexpected argument ${JSON.stringify(arg ?? '')}: this command takes options only`;
    }
    default:
      return e.message.replaceAll("'", '');
  }
}

/** The options part of `--help`, grouped under their headings, in table order. */
export function optionsHelp(table: OptionTable): string {
  const groups = new Map<string, string[]>();
  for (const [name, s] of Object.entries(table)) {
    if (s.hidden) continue;
    const left = `  --${name}${s.arg ? ` ${s.arg}` : ''}${s.short ? `, -${s.short}` : ''}`;
    // The default is shown from the table, unless the description already says it in its own words.
    const help =
      s.default !== undefined && s.default !== false && !/default/.test(s.help)
        ? `${s.help} (default ${s.default})`
        : s.help;
    const lines = help.split('\n');
    const pad = ' '.repeat(27);
    const first = left.length >= 26 ? [left, `${pad}${lines[0]}`] : [`${left.padEnd(27)}${lines[0]}`];
    const text = [...first, ...lines.slice(1).map((l) => `${pad}${l}`)];
    const group = s.group ?? 'options';
    groups.set(group, [...(groups.get(group) ?? []), ...text]);
  }
  return [...groups].map(([g, lines]) => `${g}:\n${lines.join('\n')}`).join('\n\n');
}
