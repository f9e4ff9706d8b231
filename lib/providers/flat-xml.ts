/**
 * The hot path's XML reader. Most answers a controller receives are flat documents — a root
 * element whose children each hold plain text (`<UpdateJobStatusResult><JobId>…</JobId>
 * <Status>Ready</Status></UpdateJobStatusResult>`, `<Error><Code>…</Code>…</Error>`) — and a
 * general parser spends more time on one of them than the rest of a call's client-side work.
 * `readFlatXml` reads exactly that shape with a few sticky patterns and answers `undefined` for
 * anything else (nested or repeated elements, attributes on children, comments, CDATA,
 * processing instructions, a mismatched tag), so that the caller falls back to its full parser.
 * Where it answers, it answers what fast-xml-parser answers with the providers' options
 * (`parseTagValue: false`, `trimValues: false`, `processEntities: false`): each child's text,
 * untrimmed, line ends normalized, entities left as they are (flat-xml.test.ts pins the two together).
 */

const NAME = '[A-Za-z_][A-Za-z0-9_.-]*';
// An optional declaration, then the root's start tag; attributes (ignored, as the parsers are
// told to) only with quoted values free of `<` and `>`, so a value can never hide a tag.
const HEAD = new RegExp(
  `^(?:<\\?xml[^<>]*\\?>)?\\s*<(${NAME})(?:\\s+${NAME}(?::${NAME})?="[^"<>]*")*\\s*>`,
  'y',
);
const CHILD = new RegExp(`\\s*<(${NAME})>([^<]*)</(${NAME})>`, 'y');
const CR = /\r\n?/g;
const TAIL = new RegExp(`\\s*</(${NAME})>\\s*$`, 'y');

export type FlatElement = Record<string, string>;

/** `{ [root]: { child: text, … } }` for a flat document with at least one child; otherwise `undefined`. */
export function readFlatXml(xml: string): Record<string, FlatElement> | undefined {
  // Line ends are normalized first, as XML (and the full parser) does: CR LF and lone CR → LF.
  const body = xml.includes('\r') ? xml.replace(CR, '\n') : xml;
  HEAD.lastIndex = 0;
  const head = HEAD.exec(body);
  if (head === null) return undefined;
  const root = head[1]!;
  const children: FlatElement = {};
  let at = HEAD.lastIndex;
  let count = 0;
  for (;;) {
    CHILD.lastIndex = at;
    const c = CHILD.exec(body);
    if (c === null) break;
    const name = c[1]!;
    // A repeated element becomes an array in the full parser; `__proto__` is left to it too.
    if (name !== c[3] || name === '__proto__' || Object.hasOwn(children, name)) return undefined;
    children[name] = c[2]!;
    count++;
    at = CHILD.lastIndex;
  }
  if (count === 0) return undefined;
  TAIL.lastIndex = at;
  const tail = TAIL.exec(body);
  if (tail === null || tail[1] !== root) return undefined;
  if (root === '__proto__') return undefined;
  return { [root]: children };
}
