/**
 * The one parser of comma-separated `key=value` specs: `RUN --mount=…`, and the CLI's `--cache-to`,
 * `--cache-from`, `-o` and `--secret` (and the `--ssh`, `--build-context`, `--allow` still to come).
 *
 * BuildKit and buildx read these values as one record of Go's encoding/csv (default options: a comma
 * separates fields, no lazy quotes, spaces kept), then cut each field at its first `=`:
 *
 *   type=bind,source=a                 → ["type=bind", "source=a"]
 *   type=bind,"source=a,b",target=/m   → a field holding a comma is quoted whole
 *   "target=say ""hi"""                → "" inside quotes is one "
 *   target="/m"                        → an error: a quote may only open a field (bare " in non-quoted-field)
 *
 * A field without `=` is a key with no value (`readonly`, `required`): what that means, and what case
 * or spaces a key may have, is each spec's own rule, as are duplicate keys. One deliberate difference:
 * encoding/csv reads only the first line and drops the rest; a newline outside quotes is an error here.
 */

/** One field of a spec: its key and value as written (the value undefined when there is no `=`). */
export interface SpecField {
  key: string;
  value?: string;
  /** the whole field, unquoted, for messages */
  text: string;
}

/** A spec that is not valid CSV; `column` is 1-based, as Go's csv.ParseError. */
export class SpecSyntaxError extends Error {
  override readonly name = "SpecSyntaxError";
  constructor(readonly detail: string, readonly column: number) {
    super(`parse error on line 1, column ${column}: ${detail}`);
  }
}

/**
 * Splits one spec into its CSV fields (quotes removed). An empty spec has no fields; `a,` has two
 * (the second empty), as in encoding/csv. Throws SpecSyntaxError.
 */
export function splitSpecFields(spec: string): string[] {
  const text = spec.replace(/\r\n/g, "\n");
  const fields: string[] = [];
  if (text === "") return fields;
  let i = 0;
  for (;;) {
    let field = "";
    if (text[i] === '"') {
      const open = i;
      i++;
      for (;;) {
        const q = text.indexOf('"', i);
        if (q === -1) throw new SpecSyntaxError('extraneous or missing " in quoted-field', open + 1);
        field += text.slice(i, q);
        i = q + 1;
        if (text[i] === '"') {
          field += '"';
          i++;
          continue;
        }
        if (i < text.length && text[i] !== "," && text[i] !== "\n") throw new SpecSyntaxError('extraneous or missing " in quoted-field', i);
        break;
      }
    } else {
      let end = i;
      while (end < text.length && text[end] !== "," && text[end] !== "\n") end++;
      field = text.slice(i, end);
      const quote = field.indexOf('"');
      if (quote !== -1) throw new SpecSyntaxError('bare " in non-quoted-field', i + quote + 1);
      i = end;
    }
    fields.push(field);
    if (i >= text.length) return fields;
    if (text[i] === "\n") {
      if (text.slice(i).trim() === "") return fields; // a trailing newline ends the record
      throw new SpecSyntaxError("a newline outside quotes (a spec is one line)", i + 1);
    }
    i++; // the comma
    if (i === text.length) {
      fields.push("");
      return fields;
    }
  }
}

/** Splits a spec into fields and each field at its first `=` (keys as written; see splitSpecFields). */
export function parseSpecFields(spec: string): SpecField[] {
  return splitSpecFields(spec).map((text) => {
    const eq = text.indexOf("=");
    return eq === -1 ? { key: text, text } : { key: text.slice(0, eq), value: text.slice(eq + 1), text };
  });
}

/** A field written back so that splitSpecFields reads it unchanged (quoted when it must be). */
export function quoteSpecField(field: string): string {
  return /[",\n\r]/.test(field) ? `"${field.replace(/"/g, '""')}"` : field;
}
