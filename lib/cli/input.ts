/**
 * The input of `jobctl apply` and `jobctl send`: one transition object, a JSON array of them, or
 * JSON Lines. Each item keeps its place (`line 3`, `item 2`) for messages, and its text, so that
 * an item that is not even JSON still becomes an `invalid` outcome of its own.
 */

export interface InputItem {
  /** Where the item is, for messages: `line 3` (JSON Lines, a single object) or `item 2` (an array). */
  where: string;
  /** The item as a message body. */
  body: string;
}

export function splitTransitions(text: string): InputItem[] {
  const trimmed = text.trim();
  if (trimmed === '') return [];
  let whole: unknown;
  let parsed = false;
  try {
    whole = JSON.parse(trimmed);
    parsed = true;
  } catch {
    // not one JSON document: JSON Lines (or a broken array, below)
  }
  if (parsed) {
    if (Array.isArray(whole))
      return whole.map((v, i) => ({ where: `item ${i + 1}`, body: JSON.stringify(v) }));
    const line = text.slice(0, text.indexOf(trimmed)).split('\n').length;
    return [{ where: `line ${line}`, body: trimmed }];
  }
  // A document that starts like an array is an array that failed to parse, not JSON Lines.
  if (trimmed.startsWith('[')) return [{ where: 'line 1', body: trimmed }];
  const items: InputItem[] = [];
  text.split('\n').forEach((line, i) => {
    const body = line.trim();
    if (body !== '') items.push({ where: `line ${i + 1}`, body });
  });
  return items;
}
