/**
 * The schedules declared in serverless.yml, read the way the Serverless Framework reads them, so
 * that `jobctl run` fires and `jobctl schedules` lists exactly what a deploy would create. A shipped
 * schedule that would misfire (bad expression, unknown time zone, an input the schedule function
 * would refuse, an `enabled` that is not a boolean) is an error here, at load time, with its name.
 *
 * Only the variable forms that matter for schedules are resolved, offline: `${self:…}`,
 * `${opt:stage|region}`, `${sls:stage}`, `${param:…}` (options, then `params.<stage>`, then
 * `params.default`), `${env:…}`, each with an optional `, fallback`.
 *
 * @example
 * const schedules = await loadSchedules('serverless.yml');
 * for (const row of describeSchedules(schedules, { count: 3 })) console.log(row.name, row.next);
 */
import { readFile } from 'node:fs/promises';
import { parse } from 'yaml';
import { checkScheduleInput, normalFireTime, type ScheduleInput } from '../core/schedule-input';
import { parseTransition, type Transition } from '../core/transition';
import { parseScheduleExpression, type Schedule, ScheduleExpressionError } from './cron';

export type { ScheduleInput } from '../core/schedule-input';

export interface DeclaredSchedule {
  /** The schedule's `name` (variables resolved), or `<function>-schedule-<n>` like the framework's numbering. */
  name: string;
  /** The function key in serverless.yml the schedule invokes. */
  function: string;
  expression: string;
  /** IANA time zone; UTC unless `method: scheduler` sets `timezone`. */
  timezone: string;
  /** As declared: a disabled schedule is deployed DISABLED and only fired locally on request. */
  enabled: boolean;
  input: ScheduleInput;
  description: string | null;
  method: 'scheduler' | 'eventBus';
  /** Where it is declared, for messages: `functions.schedule.events[0]`. */
  source: string;
}

export interface LoadOptions {
  stage?: string;
  region?: string;
  /** `--param` values; they win over `params.<stage>` and `params.default`. */
  params?: Record<string, string>;
  env?: NodeJS.ProcessEnv;
}

/** serverless.yml is unreadable, or one of its schedules would not work as deployed. */
export class ScheduleConfigError extends Error {
  override readonly name = 'ScheduleConfigError';
}

export async function loadSchedules(
  path = 'serverless.yml',
  options: LoadOptions = {},
): Promise<DeclaredSchedule[]> {
  return parseSchedules(await readText(path), options, path);
}

/** `loadSchedules` on text already read. */
export function parseSchedules(
  text: string,
  options: LoadOptions = {},
  path = 'serverless.yml',
): DeclaredSchedule[] {
  const { doc, vars } = parseDocument(text, options, path);
  const functions = doc.functions ?? {};
  if (!isObject(functions)) throw new ScheduleConfigError(`${path}: functions must be a mapping`);

  const out: DeclaredSchedule[] = [];
  for (const [fn, def] of Object.entries(functions)) {
    if (!isObject(def) || !Array.isArray(def.events)) continue;
    // The reconcile tick's schedule carries a tick time, not transitions (functions/reconcile.ts).
    if (fn === 'reconcile') continue;
    let numberInFunction = 0;
    for (const [i, event] of def.events.entries()) {
      if (!isObject(event) || event.schedule === undefined) continue;
      const source = `functions.${fn}.events[${i}].schedule`;
      const declared = readSchedule(event.schedule, source, vars);
      for (const expression of declared.rates) {
        numberInFunction++;
        const name = declared.name ?? `${fn}-schedule-${numberInFunction}`;
        const where = `schedule ${JSON.stringify(name)} (${source})`;
        try {
          parseScheduleExpression(expression, declared.timezone);
        } catch (e) {
          if (e instanceof ScheduleExpressionError) throw new ScheduleConfigError(`${where}: ${e.message}`);
          throw e;
        }
        out.push({
          name,
          function: fn,
          expression,
          timezone: declared.timezone,
          enabled: declared.enabled,
          input: parseScheduleInput(declared.input, where),
          description: declared.description,
          method: declared.method,
          source,
        });
      }
    }
  }
  const seen = new Set<string>();
  for (const s of out) {
    if (seen.has(s.name))
      throw new ScheduleConfigError(`schedule ${JSON.stringify(s.name)} is declared twice (${s.source})`);
    seen.add(s.name);
  }
  return out;
}

/** The reconcile function's schedule: what `jobctl run` ticks on. */
export interface ReconcileSchedule {
  expression: string;
  periodMs: number;
  enabled: boolean;
}

const RATE = /^rate\(\s*(\d{1,6})\s+(minute|minutes|hour|hours|day|days)\s*\)$/;
const UNIT_MS: Record<string, number> = { minute: 60_000, hour: 3_600_000, day: 86_400_000 };

/**
 * `functions.reconcile`'s first schedule, variables resolved (`${param:reconcileRateMinutes, '5'}`),
 * as a period; null when serverless.yml declares no reconcile schedule. Only rate() makes sense
 * for a tick (its messages' notAfter is one period on).
 */
export function parseReconcileSchedule(
  text: string,
  options: LoadOptions = {},
  path = 'serverless.yml',
): ReconcileSchedule | null {
  let doc: unknown;
  try {
    doc = parse(text, { logLevel: 'error' });
  } catch (e) {
    throw new ScheduleConfigError(`${path} is not valid YAML: ${(e as Error).message}`);
  }
  if (!isObject(doc) || !isObject(doc.functions)) return null;
  const def = doc.functions.reconcile;
  if (!isObject(def) || !Array.isArray(def.events)) return null;
  const vars = new Variables(doc, options);
  for (const [i, event] of def.events.entries()) {
    if (!isObject(event) || event.schedule === undefined) continue;
    const source = `functions.reconcile.events[${i}].schedule`;
    const declared = readSchedule(event.schedule, source, vars);
    const expression = declared.rates[0]!;
    const m = RATE.exec(expression.trim());
    if (!m) throw new ScheduleConfigError(`${source}: the reconcile tick needs a rate(), not ${expression}`);
    const n = Number(m[1]);
    if (n < 1) throw new ScheduleConfigError(`${source}: ${expression} is not a period`);
    return { expression, periodMs: n * UNIT_MS[m[2]!.replace(/s$/, '')]!, enabled: declared.enabled };
  }
  return null;
}

export async function loadReconcileSchedule(
  path = 'serverless.yml',
  options: LoadOptions = {},
): Promise<ReconcileSchedule | null> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (e) {
    throw new ScheduleConfigError(`cannot read ${path}: ${(e as Error).message}`);
  }
  return parseReconcileSchedule(text, options, path);
}

/**
 * One CloudFormation resource of serverless.yml's `resources.Resources`, variables resolved as for
 * schedules: what `jobctl run` creates locally is what a deploy would create.
 */
export async function loadResource(
  logicalId: string,
  path = 'serverless.yml',
  options: LoadOptions = {},
): Promise<{ Type: string; Properties: Record<string, unknown> }> {
  let doc: unknown;
  try {
    doc = parse(await readFile(path, 'utf8'), { logLevel: 'error' });
  } catch (e) {
    throw new ScheduleConfigError(`cannot read ${path}: ${(e as Error).message}`);
  }
  const raw = isObject(doc) ? lookup(doc, `resources.Resources.${logicalId}`) : undefined;
  if (!isObject(doc) || !isObject(raw) || typeof raw.Type !== 'string' || !isObject(raw.Properties))
    throw new ScheduleConfigError(
      `${path}: resources.Resources.${logicalId} must have a Type and Properties`,
    );
  const resolved = new Variables(doc, options).resolve(raw, `resources.Resources.${logicalId}`);
  return resolved as { Type: string; Properties: Record<string, unknown> };
}

interface RawSchedule {
  rates: string[];
  name: string | null;
  description: string | null;
  enabled: boolean;
  timezone: string;
  method: 'scheduler' | 'eventBus';
  input: unknown;
}

function readSchedule(raw: unknown, source: string, vars: Variables): RawSchedule {
  // The short form `schedule: rate(10 minutes)` is enabled, in UTC, without input.
  if (typeof raw === 'string') {
    const expression = vars.resolve(raw, source);
    if (typeof expression !== 'string')
      throw new ScheduleConfigError(`${source} must be a rate() or cron() expression`);
    return {
      rates: [expression],
      name: null,
      description: null,
      enabled: true,
      timezone: 'UTC',
      method: 'eventBus',
      input: undefined,
    };
  }
  if (!isObject(raw)) throw new ScheduleConfigError(`${source} must be an expression or a mapping with rate`);
  const get = (key: string) =>
    raw[key] === undefined ? undefined : vars.resolve(raw[key], `${source}.${key}`);

  const rate = get('rate');
  const rates = Array.isArray(rate) ? rate : [rate];
  if (rates.length === 0 || rates.some((r) => typeof r !== 'string'))
    throw new ScheduleConfigError(`${source}.rate must be a list of rate() or cron() expressions`);

  const method = get('method') ?? 'eventBus';
  if (method !== 'scheduler' && method !== 'eventBus')
    throw new ScheduleConfigError(`${source}.method must be scheduler or eventBus`);
  const tz = get('timezone');
  if (tz !== undefined && (typeof tz !== 'string' || method !== 'scheduler'))
    throw new ScheduleConfigError(`${source}.timezone: a time zone name, only with method: scheduler`);

  const enabled = get('enabled') ?? true;
  // The framework deploys anything but the boolean false as ENABLED, so "false" (a string, as a
  // CLI --param gives) would silently switch a schedule on.
  if (typeof enabled !== 'boolean')
    throw new ScheduleConfigError(`${source}.enabled must be true or false, not ${JSON.stringify(enabled)}`);

  const name = get('name');
  if (name !== undefined && (typeof name !== 'string' || !/^[.\-_A-Za-z0-9]{1,64}$/.test(name)))
    throw new ScheduleConfigError(
      `${source}.name must be 1-64 of [.-_A-Za-z0-9], not ${JSON.stringify(name)}`,
    );
  if (name !== undefined && rates.length > 1)
    throw new ScheduleConfigError(
      `${source}: a named schedule has exactly one rate (the framework refuses more)`,
    );
  const description = get('description');

  return {
    rates: rates as string[],
    name: (name as string | undefined) ?? null,
    description: typeof description === 'string' ? description : null,
    enabled,
    timezone: (tz as string | undefined) ?? 'UTC',
    method,
    input: get('input'),
  };
}

/**
 * A schedule's input as functions/schedule.ts accepts it, every transition included (a JSON
 * string is parsed first). @throws ScheduleConfigError prefixed with `where`.
 */
export function parseScheduleInput(raw: unknown, where = 'schedule'): ScheduleInput {
  let input = raw;
  if (typeof raw === 'string') {
    try {
      input = JSON.parse(raw);
    } catch (e) {
      throw new ScheduleConfigError(`${where}: input is not valid JSON (${(e as Error).message})`);
    }
  }
  const problem = checkScheduleInput(input, true);
  if (problem) {
    // A transition's own message already starts with its field name.
    const what = problem.field.startsWith('transitions[')
      ? `.${problem.field.slice(0, problem.field.indexOf(']') + 1)}.${problem.rule}`
      : `${problem.field ? `.${problem.field}` : ''} ${problem.rule}`;
    throw new ScheduleConfigError(`${where}: input${what}`);
  }
  const o = input as ScheduleInput;
  const out: ScheduleInput = { schedule: o.schedule, transitions: o.transitions };
  if (o.fireTime !== undefined) out.fireTime = o.fireTime;
  return out;
}

/** The input's transitions, parsed (they were validated when the schedule was loaded). */
export function transitionsOf(s: DeclaredSchedule): Transition[] {
  return s.input.transitions.map((t) => {
    const r = parseTransition(t);
    if (!r.ok) throw new ScheduleConfigError(`schedule ${JSON.stringify(s.name)}: ${r.error.message}`);
    return r.value;
  });
}

/** The parsed expression of a declared schedule. */
export function scheduleOf(s: Pick<DeclaredSchedule, 'expression' | 'timezone'>): Schedule {
  return parseScheduleExpression(s.expression, s.timezone);
}

/**
 * The event the schedule function receives when `s` fires at `fireTime`: the input with
 * EventBridge Scheduler's context attributes filled in as AWS fills them.
 */
export function eventAt(s: DeclaredSchedule, fireTime: Date, attempt = 1): ScheduleInput {
  const time = normalFireTime(fireTime, fireTime.getTime());
  const attributes: Record<string, string> = {
    '<aws.scheduler.scheduled-time>': time,
    '<aws.scheduler.schedule-arn>': `arn:aws:scheduler:local:000000000000:schedule/default/${s.name}`,
    '<aws.scheduler.execution-id>': `local-${s.name}-${fireTime.getTime()}-${attempt}`,
    '<aws.scheduler.attempt-number>': String(attempt),
  };
  const fill = (v: unknown): unknown => {
    if (typeof v === 'string') return v.replace(/<aws\.scheduler\.[a-z-]+>/g, (k) => attributes[k] ?? k);
    if (Array.isArray(v)) return v.map(fill);
    if (isObject(v)) return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, fill(x)]));
    return v;
  };
  return fill(s.input) as ScheduleInput;
}

export interface ScheduleRow {
  name: string;
  function: string;
  expression: string;
  timezone: string;
  enabled: boolean;
  description: string | null;
  /** The next fire times (ISO 8601, UTC), fewer when the schedule ends. */
  next: string[];
}

/** Each schedule with its next `count` fire times after `from`: what `jobctl schedules` prints. */
export function describeSchedules(
  schedules: readonly DeclaredSchedule[],
  { from = new Date(), count = 3 }: { from?: Date; count?: number } = {},
): ScheduleRow[] {
  return schedules.map((s) => ({
    name: s.name,
    function: s.function,
    expression: s.expression,
    timezone: s.timezone,
    enabled: s.enabled,
    description: s.description,
    next: scheduleOf(s)
      .nextN(from, count)
      .map((d) => d.toISOString()),
  }));
}

// ── variables ───────────────────────────────────────────────────────────────────────────────

const isObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v);

// The innermost `${…}`: no `$`, `{` or `}` inside, so nested fallbacks resolve inside-out.
const VARIABLE = /\$\{([^${}]*)\}/;

class Variables {
  private readonly stage: string;

  constructor(
    private readonly doc: Record<string, unknown>,
    private readonly options: LoadOptions,
  ) {
    const provider = isObject(doc.provider) ? doc.provider : {};
    const declared =
      options.stage ??
      (provider.stage === undefined ? undefined : this.resolve(provider.stage, 'provider.stage', true));
    this.stage = typeof declared === 'string' && declared !== '' ? declared : 'dev';
  }

  /** Resolve every variable in `value` (deeply); `where` names it in errors. */
  resolve(value: unknown, where: string, early = false, depth = 0): unknown {
    if (depth > 20) throw new ScheduleConfigError(`${where}: variables refer to each other in a loop`);
    if (Array.isArray(value)) return value.map((v, i) => this.resolve(v, `${where}[${i}]`, early, depth));
    if (isObject(value))
      return Object.fromEntries(
        Object.entries(value).map(([k, v]) => [k, this.resolve(v, `${where}.${k}`, early, depth)]),
      );
    if (typeof value !== 'string') return value;
    let text = value;
    for (let m = VARIABLE.exec(text); m; m = VARIABLE.exec(text)) {
      const whole = m[0] === text;
      const resolved = this.variable(m[1] as string, where, early, depth);
      if (whole) return resolved;
      text = text.slice(0, m.index) + String(resolved) + text.slice(m.index + m[0].length);
    }
    return text;
  }

  private variable(body: string, where: string, early: boolean, depth: number): unknown {
    const comma = body.indexOf(',');
    const ref = (comma < 0 ? body : body.slice(0, comma)).trim();
    const fallback = comma < 0 ? undefined : literal(body.slice(comma + 1).trim(), where);
    const colon = ref.indexOf(':');
    const source = colon < 0 ? '' : ref.slice(0, colon);
    const address = colon < 0 ? ref : ref.slice(colon + 1);
    let found: unknown;
    switch (source) {
      case 'self':
        found = this.resolve(lookup(this.doc, address), `${where} → self:${address}`, early, depth + 1);
        break;
      case 'opt':
        found =
          address === 'stage' ? this.options.stage : address === 'region' ? this.options.region : undefined;
        break;
      case 'sls':
        if (address === 'stage') found = early ? this.options.stage : this.stage;
        break;
      case 'param':
        found = this.param(address);
        break;
      case 'env':
        found = (this.options.env ?? process.env)[address];
        break;
      default:
        throw new ScheduleConfigError(
          `${where}: cannot resolve \${${body}} offline (supported: self, opt, sls:stage, param, env)`,
        );
    }
    if (found !== undefined && found !== null) return found;
    if (fallback !== undefined) return fallback;
    throw new ScheduleConfigError(`${where}: \${${body}} has no value and no fallback`);
  }

  private param(name: string): unknown {
    const cli = this.options.params?.[name];
    if (cli !== undefined) return cli;
    const params = isObject(this.doc.params) ? this.doc.params : {};
    for (const scope of [this.stage, 'default']) {
      const p = params[scope];
      if (isObject(p) && p[name] !== undefined && p[name] !== null)
        return this.resolve(p[name], `params.${scope}.${name}`);
    }
    return undefined;
  }
}

function lookup(doc: Record<string, unknown>, path: string): unknown {
  let v: unknown = doc;
  for (const key of path.split('.')) v = isObject(v) ? v[key] : Array.isArray(v) ? v[Number(key)] : undefined;
  return v;
}

/** A fallback after the comma: a quoted string, number, boolean, null, or (already resolved) text. */
function literal(text: string, where: string): unknown {
  const quoted = /^(['"])(.*)\1$/s.exec(text);
  if (quoted) return quoted[2];
  if (/^-?\d+(\.\d+)?$/.test(text)) return Number(text);
  if (text === 'true' || text === 'false') return text === 'true';
  if (text === 'null') return null;
  if (text === '') throw new ScheduleConfigError(`${where}: empty fallback after ","`);
  return text;
}

/**
 * The event source mapping of the requests queue as serverless.yml deploys it: what `jobctl run`
 * emulates, read from the one declaration instead of copied into the CLI.
 */
export interface QueueConsumer {
  /** The function the mapping invokes. */
  function: string;
  batchSize: number;
  batchingWindowMs: number;
  maxConcurrency: number;
  functionTimeoutS: number;
  visibilityTimeoutS: number;
  maxReceiveCount: number;
}

/** The deployed defaults, for a serverless.yml that is absent or declares no SQS consumer. */
export const LAMBDA_DEFAULTS: Omit<QueueConsumer, 'function'> = {
  batchSize: 10,
  batchingWindowMs: 0,
  maxConcurrency: 5,
  functionTimeoutS: 6,
  visibilityTimeoutS: 30,
  maxReceiveCount: 5,
};

export async function loadQueueConsumer(
  path = 'serverless.yml',
  options: LoadOptions = {},
): Promise<QueueConsumer | undefined> {
  return parseQueueConsumer(await readText(path), options, path);
}

/** The first function with an `sqs` event (the requests queue's consumer), its settings resolved. */
export function parseQueueConsumer(
  text: string,
  options: LoadOptions = {},
  path = 'serverless.yml',
): QueueConsumer | undefined {
  const { doc, vars } = parseDocument(text, options, path);
  const functions = isObject(doc.functions) ? doc.functions : {};
  for (const [fn, def] of Object.entries(functions)) {
    if (!isObject(def) || !Array.isArray(def.events)) continue;
    const i = def.events.findIndex((e) => isObject(e) && isObject(e.sqs));
    if (i < 0) continue;
    const where = `functions.${fn}.events[${i}].sqs`;
    const sqs = (def.events[i] as { sqs: Record<string, unknown> }).sqs;
    const num = (value: unknown, at: string, fallback: number, min: number, max: number): number => {
      if (value === undefined) return fallback;
      const n = Number(vars.resolve(value, at));
      if (!Number.isFinite(n) || n < min || n > max)
        throw new ScheduleConfigError(`${at}: must be a number from ${min} to ${max}`);
      return n;
    };
    // The queue the mapping reads: a `Fn::GetAtt: [Resource, Arn]` naming a resource in this file.
    const arn = sqs.arn;
    const resourceName =
      isObject(arn) && Array.isArray(arn['Fn::GetAtt']) ? String(arn['Fn::GetAtt'][0]) : undefined;
    const resources = lookup(doc, 'resources.Resources');
    const queue =
      resourceName && isObject(resources) ? lookup(resources, `${resourceName}.Properties`) : undefined;
    const q = isObject(queue) ? queue : {};
    const redrive = isObject(q.RedrivePolicy) ? q.RedrivePolicy : {};
    const qWhere = `resources.Resources.${resourceName}.Properties`;
    return {
      function: fn,
      batchSize: num(sqs.batchSize, `${where}.batchSize`, LAMBDA_DEFAULTS.batchSize, 1, 10_000),
      batchingWindowMs: num(sqs.maximumBatchingWindow, `${where}.maximumBatchingWindow`, 0, 0, 300) * 1000,
      maxConcurrency: num(
        sqs.maximumConcurrency,
        `${where}.maximumConcurrency`,
        LAMBDA_DEFAULTS.maxConcurrency,
        2,
        1000,
      ),
      functionTimeoutS: num(def.timeout, `functions.${fn}.timeout`, LAMBDA_DEFAULTS.functionTimeoutS, 1, 900),
      visibilityTimeoutS: num(
        q.VisibilityTimeout,
        `${qWhere}.VisibilityTimeout`,
        LAMBDA_DEFAULTS.visibilityTimeoutS,
        0,
        43_200,
      ),
      maxReceiveCount: num(
        redrive.maxReceiveCount,
        `${qWhere}.RedrivePolicy.maxReceiveCount`,
        LAMBDA_DEFAULTS.maxReceiveCount,
        1,
        1000,
      ),
    };
  }
  return undefined;
}

async function readText(path: string): Promise<string> {
  try {
    return await readFile(path, 'utf8');
  } catch (e) {
    throw new ScheduleConfigError(`cannot read ${path}: ${(e as Error).message}`);
  }
}

/** The YAML mapping and its `${…}` variables; every reader of serverless.yml starts here. */
function parseDocument(
  text: string,
  options: LoadOptions,
  path: string,
): { doc: Record<string, unknown>; vars: Variables } {
  let doc: unknown;
  try {
    // CloudFormation short tags (!Ref, !GetAtt …) are not ours to resolve; read them as plain values.
    doc = parse(text, { logLevel: 'error' });
  } catch (e) {
    throw new ScheduleConfigError(`${path} is not valid YAML: ${(e as Error).message}`);
  }
  if (!isObject(doc)) throw new ScheduleConfigError(`${path} must be a YAML mapping`);
  return { doc, vars: new Variables(doc, options) };
}
