/** The option table (issue 14.4): one declaration gives the parser, the numbers and the help. */
import { describe, expect, it } from 'vitest';
import { UsageError } from '../../lib/cli/command';
import { type OptionTable, optionsHelp, parseOptions } from '../../lib/cli/options';

const TABLE = {
  count: { kind: 'integer', arg: 'N', min: 1, max: 100, default: 3, help: 'how many' },
  ratio: { kind: 'number', arg: 'X', min: 0, max: 1, help: 'a fraction' },
  offset: { kind: 'number', arg: 'N', help: 'any number, checked elsewhere' },
  tag: { kind: 'string', arg: 'T', multiple: true, group: 'filters', help: 'repeatable' },
  json: { kind: 'boolean', help: 'JSON' },
} as const satisfies OptionTable;

const fails = (argv: string[]) => {
  try {
    parseOptions(argv, TABLE);
  } catch (e) {
    expect(e).toBeInstanceOf(UsageError);
    return (e as Error).message;
  }
  throw new Error(`accepted ${argv.join(' ')}`);
};

describe('parseOptions', () => {
  it('fills defaults and turns numbers into numbers', () => {
    expect(parseOptions([], TABLE).values).toEqual({ count: 3 });
    const { values } = parseOptions(
      ['--count', '7', '--ratio', '0.5', '--tag', 'a', '--tag', 'b', '--json'],
      TABLE,
    );
    expect(values).toEqual({ count: 7, ratio: 0.5, tag: ['a', 'b'], json: true });
  });

  it('takes a negative number as a value, and leaves its range rule to say no', () => {
    expect(parseOptions(['--offset', '-3'], TABLE).values.offset).toBe(-3);
    expect(fails(['--count', '-1'])).toBe('--count must be an integer from 1 to 100, not -1');
  });

  it.each([
    [['--count', '1.5'], '--count must be an integer from 1 to 100, not "1.5"'],
    [['--count', 'ten'], '--count must be an integer from 1 to 100, not "ten"'],
    [['--ratio', '2'], '--ratio must be a number from 0 to 1, not 2'],
    [['--count'], '--count needs a value (--count N)'],
    [['--json=yes'], '--json takes no value'],
    [['extra'], 'unexpected argument "extra": this command takes options only'],
    [
      ['--conut', '2'],
      'unknown option --conut (did you mean --count?); valid options: --count, --ratio, --offset, --tag, --json',
    ],
  ])('%j → %s', (argv, message) => {
    expect(fails(argv)).toBe(message);
  });
});

describe('optionsHelp', () => {
  it('lists every option under its group, with its default', () => {
    const help = optionsHelp(TABLE);
    for (const name of Object.keys(TABLE)) expect(help).toContain(`--${name}`);
    expect(help).toContain('--count N                how many (default 3)');
    expect(help).toMatch(/filters:\n {2}--tag T/);
  });
});
