/**
 * RFC 3986 percent-encoding, as COS and OSS both sign and send: everything but `A-Za-z0-9-_.~`.
 * `encodeURIComponent` leaves `!'()*` alone; these providers do not.
 */
const UNRESERVED = /^[A-Za-z0-9_.~-]*$/;
const SUB_DELIMS = /[!'()*]/g;
const HAS_SUB_DELIM = /[!'()*]/;
const hexEscape = (c: string) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`;

export function rfc3986(s: string): string {
  // Most values (statuses, ids, digits, header and sub-resource names) need no encoding at all.
  if (UNRESERVED.test(s)) return s;
  const e = encodeURIComponent(s);
  return HAS_SUB_DELIM.test(e) ? e.replace(SUB_DELIMS, hexEscape) : e;
}
