/**
 * The one CSV key=value parser (spec-fields.ts), against Go's encoding/csv as BuildKit 1.7 and
 * buildx use it: one record, default options (no lazy quotes, spaces kept).
 */
import { describe, expect, it } from "vitest";
import { parseSpecFields, quoteSpecField, splitSpecFields, SpecSyntaxError } from "../src/index.js";

import { thrown } from "./helpers/thrown.js";

const syntaxError = (spec: string): SpecSyntaxError => thrown(SpecSyntaxError, () => splitSpecFields(spec));

describe("splitSpecFields: encoding/csv's fields", () => {
  it("splits at commas, keeping spaces and empty fields", () => {
    expect(splitSpecFields("type=bind,source=a")).toEqual(["type=bind", "source=a"]);
    expect(splitSpecFields(" a , b ")).toEqual([" a ", " b "]);
    expect(splitSpecFields("a,,b")).toEqual(["a", "", "b"]);
    expect(splitSpecFields("a,")).toEqual(["a", ""]);
    expect(splitSpecFields(",")).toEqual(["", ""]);
    expect(splitSpecFields("")).toEqual([]);
  });
  it("a field quoted whole may hold commas, newlines and doubled quotes", () => {
    expect(splitSpecFields('type=bind,"source=a,b",target=/m')).toEqual(["type=bind", "source=a,b", "target=/m"]);
    expect(splitSpecFields('"target=say ""hi"""')).toEqual(['target=say "hi"']);
    expect(splitSpecFields('""')).toEqual([""]);
    expect(splitSpecFields('"a\nb",c')).toEqual(["a\nb", "c"]);
    expect(splitSpecFields('"a\r\nb"')).toEqual(["a\nb"]);
  });
  it("a quote inside an unquoted field is an error (bare quote), with Go's 1-based column", () => {
    const e = syntaxError('type=bind,target="/m"');
    expect(e.message).toBe('parse error on line 1, column 18: bare " in non-quoted-field');
    expect(syntaxError(' "a"').detail).toBe('bare " in non-quoted-field'); // no TrimLeadingSpace
  });
  it("text after a closing quote, or a quote never closed, is an error", () => {
    expect(syntaxError('"a"b').detail).toBe('extraneous or missing " in quoted-field');
    expect(syntaxError('"a,b').detail).toBe('extraneous or missing " in quoted-field');
    expect(syntaxError('a,"b').detail).toBe('extraneous or missing " in quoted-field');
  });
  it("one line: a trailing newline ends it, a second line is an error (encoding/csv would drop it)", () => {
    expect(splitSpecFields("a,b\n")).toEqual(["a", "b"]);
    expect(syntaxError("a\nb").detail).toMatch(/newline outside quotes/);
  });
});

describe("parseSpecFields: each field cut at its first =", () => {
  it("keys as written, values after the first =, a key alone has no value", () => {
    expect(parseSpecFields('Type=cache,"id=a=b",readonly,empty=')).toEqual([
      { key: "Type", value: "cache", text: "Type=cache" },
      { key: "id", value: "a=b", text: "id=a=b" },
      { key: "readonly", text: "readonly" },
      { key: "empty", value: "", text: "empty=" },
    ]);
    expect(parseSpecFields("=v")).toEqual([{ key: "", value: "v", text: "=v" }]);
  });
  it("quoteSpecField writes a field back so that it reads the same", () => {
    for (const f of ["plain=1", "a,b=c", 'say "hi"', "line\nbreak", ""]) expect(splitSpecFields(quoteSpecField(f))).toEqual(f === "" ? [] : [f]);
    expect(quoteSpecField("plain=1")).toBe("plain=1");
    expect(splitSpecFields([quoteSpecField("x=a,b"), quoteSpecField('y="')].join(","))).toEqual(["x=a,b", 'y="']);
  });
});
