/**
 * Just enough XML for the three wire formats: responses are built as strings (small, fixed
 * shapes, escaped here), request bodies (CreateJob) are read with fast-xml-parser.
 */
import { XMLParser } from 'fast-xml-parser';

const ESCAPES: Record<string, string> = {
  '&': '&amp;',
  '<': '&lt;',
  '>': '&gt;',
  '"': '&quot;',
  "'": '&apos;',
};

export function escapeXml(s: string): string {
  return s.replace(/[&<>"']/g, (c) => ESCAPES[c] ?? c);
}

/** An element's children in order: `[name, value]` pairs, a name repeated for a list; `null`/`undefined` values are left out. */
export type XmlNode = [name: string, value: XmlValue][];
export type XmlValue = string | number | boolean | null | undefined | XmlNode;

function render(name: string, value: XmlValue): string {
  if (value === null || value === undefined) return '';
  if (Array.isArray(value)) return `<${name}>${value.map(([n, v]) => render(n, v)).join('')}</${name}>`;
  return `<${name}>${escapeXml(String(value))}</${name}>`;
}

/** A whole document: declaration plus the root element (with an optional namespace). */
export function xmlDocument(root: string, children: XmlNode, xmlns?: string): string {
  const open = xmlns ? `<${root} xmlns="${escapeXml(xmlns)}">` : `<${root}>`;
  return `<?xml version="1.0" encoding="UTF-8"?>\n${open}${children.map(([n, v]) => render(n, v)).join('')}</${root}>`;
}

const parser = new XMLParser({
  ignoreAttributes: true,
  removeNSPrefix: true,
  parseTagValue: false,
  trimValues: true,
});

/** Parse a request body; `undefined` when it is not XML at all. */
export function parseXml(body: string): Record<string, unknown> | undefined {
  if (body.trim() === '') return undefined;
  try {
    const out = parser.parse(body, true) as unknown;
    return typeof out === 'object' && out !== null ? (out as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}
