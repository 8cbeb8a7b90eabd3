/** `--secret` read as buildx reads it (secret-spec.ts, through the shared CSV parser). */
import { describe, expect, it } from "vitest";
import { parseSecretSpec } from "../src/secret-spec.js";
import { UsageError } from "../src/args.js";

describe("--secret", () => {
  it("id with a file, an environment variable, or neither (the file named ID)", () => {
    expect(parseSecretSpec("id=tok,src=/run/tok")).toEqual({ id: "tok", src: "/run/tok" });
    expect(parseSecretSpec("ID=tok,Source=f")).toEqual({ id: "tok", src: "f" });
    expect(parseSecretSpec("id=tok,env=TOKEN")).toEqual({ id: "tok", env: "TOKEN" });
    expect(parseSecretSpec("id=tok,type=env,src=TOKEN")).toEqual({ id: "tok", env: "TOKEN" });
    expect(parseSecretSpec("id=tok,type=file,src=f")).toEqual({ id: "tok", src: "f" });
    expect(parseSecretSpec("id=tok")).toEqual({ id: "tok" });
    expect(parseSecretSpec('id=tok,"src=a,b.txt"')).toEqual({ id: "tok", src: "a,b.txt" });
    // as buildx: an empty env= with type=env takes src=; an empty value is no secret at all
    expect(parseSecretSpec("id=tok,type=env,env=,src=TOKEN")).toEqual({ id: "tok", env: "TOKEN" });
    expect(parseSecretSpec("")).toBeUndefined();
  });
  it.each([
    ["src=f", "secret missing ID"],
    ["id=,src=f", "secret missing ID"],
    ["id=tok,required", "invalid field 'required' must be a key=value pair"],
    ["id=tok,mode=0400", "unexpected key 'mode' in 'mode=0400'"],
    ["id=tok,type=ssh", 'unsupported secret type "ssh"'],
    ['id=tok,src="a', 'failed to parse csv secret: parse error on line 1, column 12: bare " in non-quoted-field'],
  ])("%s is a usage error", (spec, message) => {
    expect(() => parseSecretSpec(spec)).toThrow(UsageError);
    expect(() => parseSecretSpec(spec)).toThrow(message);
  });
});
