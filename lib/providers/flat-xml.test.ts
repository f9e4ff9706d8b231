/**
 * `readFlatXml` is a shortcut, never a second opinion: wherever it answers, fast-xml-parser (with
 * each provider's options) answers the same text for every element; everything else it declines.
 */
import fc from 'fast-check';
import { XMLParser } from 'fast-xml-parser';
import { describe, expect, it } from 'vitest';
import { readFlatXml } from './flat-xml';

// The options lib/providers/cos/wire.ts and lib/providers/oss/wire.ts give their parsers.
const PARSERS = {
  cos: new XMLParser({
    ignoreAttributes: true,
    ignoreDeclaration: true,
    parseTagValue: false,
    trimValues: false,
    processEntities: false,
  }),
  oss: new XMLParser({
    ignoreDeclaration: true,
    parseTagValue: false,
    trimValues: false,
    processEntities: false,
  }),
};

/** The full parser's answer without the whitespace it keeps between elements (`#text`), which no caller reads. */
function full(parser: XMLParser, body: string): unknown {
  const doc = parser.parse(body) as Record<string, unknown>;
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(doc)) {
    if (k === '#text') continue;
    if (typeof v === 'object' && v !== null && !Array.isArray(v)) {
      const { '#text': _ws, ...rest } = v as Record<string, unknown>;
      out[k] = rest;
    } else out[k] = v;
  }
  return out;
}

const plain = (v: unknown) => JSON.parse(JSON.stringify(v)) as unknown;

describe('readFlatXml', () => {
  it.each([
    [
      'an UpdateJobStatusResult',
      '<?xml version="1.0" encoding="UTF-8"?>\n<UpdateJobStatusResult><JobId>53dc</JobId><Status>Ready</Status></UpdateJobStatusResult>',
      { UpdateJobStatusResult: { JobId: '53dc', Status: 'Ready' } },
    ],
    [
      'an indented error with entities and an empty element',
      '<Error>\n  <Code>InvalidRequest</Code>\n  <Message>a &amp; b &#34;c&#34;</Message>\n  <RequestId></RequestId>\n</Error>\n',
      { Error: { Code: 'InvalidRequest', Message: 'a &amp; b &#34;c&#34;', RequestId: '' } },
    ],
    [
      'untrimmed text',
      '<R xmlns="http://example.com/doc/2018-08-20/"><A> 007 </A><B>\n</B></R>',
      { R: { A: ' 007 ', B: '\n' } },
    ],
  ])('reads %s', (_what, body, expected) => {
    expect(plain(readFlatXml(body))).toEqual(expected);
    for (const p of Object.values(PARSERS)) expect(full(p, body)).toEqual(expected);
  });

  it.each([
    ['a nested element', '<R><Job><JobId>1</JobId></Job></R>'],
    ['a repeated element', '<R><A>1</A><A>2</A></R>'],
    ['an element without children', '<R>text</R>'],
    ['an empty root', '<R></R>'],
    ['a self-closing child', '<R><A/><B>1</B></R>'],
    ['a child with attributes', '<R><A x="1">1</A></R>'],
    ['CDATA', '<R><A><![CDATA[<b>]]></A></R>'],
    ['a comment', '<R><!-- c --><A>1</A></R>'],
    ['a mismatched close', '<R><A>1</B></R>'],
    ['a mismatched root', '<R><A>1</A></S>'],
    ['trailing content', '<R><A>1</A></R><S/>'],
    ['an attribute value holding a tag', '<R a="<A>x</A>"><B>1</B></R>'],
    ['a __proto__ element', '<R><__proto__>1</__proto__></R>'],
    ['not XML', 'upstream connect error'],
    ['nothing', ''],
  ])('declines %s', (_what, body) => {
    expect(readFlatXml(body)).toBeUndefined();
  });

  it('answers as fast-xml-parser does wherever it answers', () => {
    const name = fc.constantFrom('JobId', 'Status', 'StatusUpdateReason', 'Priority', 'Code', 'a.b', '_x-1');
    const text = fc.string({
      unit: fc.constantFrom(
        'a',
        ' ',
        '\n',
        '\r',
        '\t',
        '&',
        'amp;',
        '#34;',
        '>',
        '"',
        "'",
        '=',
        '?',
        '!',
        '-',
        '中',
        '😀',
        '0',
        '/',
      ),
      maxLength: 12,
    });
    const ws = fc.constantFrom('', ' ', '\n', '\r\n  ');
    const doc = fc
      .record({
        decl: fc.boolean(),
        root: fc.constantFrom('UpdateJobStatusResult', 'Error', 'R'),
        attrs: fc.constantFrom('', ' xmlns="http://s3.amazonaws.com/doc/2006-03-01/"', ' a="1" b:c="2"'),
        children: fc.array(fc.tuple(ws, name, text), { maxLength: 5 }),
        end: ws,
      })
      .map(
        ({ decl, root, attrs, children, end }) =>
          `${decl ? '<?xml version="1.0" encoding="UTF-8"?>\n' : ''}<${root}${attrs}>${children
            .map(([w, n, t]) => `${w}<${n}>${t}</${n}>`)
            .join('')}${end}</${root}>${end}`,
      );
    let answered = 0;
    fc.assert(
      fc.property(doc, (body) => {
        const flat = readFlatXml(body);
        if (flat === undefined) return;
        answered++;
        for (const p of Object.values(PARSERS)) expect(full(p, body)).toEqual(plain(flat));
      }),
      { numRuns: 2000 },
    );
    // Not vacuous: most generated documents are flat ones.
    expect(answered).toBeGreaterThan(500);
  });
});
