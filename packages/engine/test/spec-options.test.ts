/** -o and --cache-to/--cache-from read through the shared CSV parser (quoting as buildx). */
import { describe, expect, it } from "vitest";
import { CacheSpecError, OutputError, parseCacheFrom, parseCacheTo, parseOutput } from "../src/index.js";

describe("-o", () => {
  it("quoted fields, keys in any case, a bare path for type=local", () => {
    expect(parseOutput('type=oci,"dest=out,1.tar"', [])).toEqual({ type: "oci", dest: "out,1.tar", tar: true });
    expect(parseOutput('TYPE=image,"name=a:1,b:2",push', [])).toEqual({ type: "image", names: ["a:1", "b:2"], push: true });
    expect(parseOutput("./out", [])).toEqual({ type: "local", dest: "./out" });
    expect(parseOutput("type=local, dest=d", [])).toEqual({ type: "local", dest: "d" });
  });
  it("an option the exporter does not take, or bad CSV, is an error", () => {
    expect(() => parseOutput("type=oci,dest=o.tar,compression=zstd", [])).toThrow(new OutputError("--output type=oci does not take compression= (it takes type=, dest=, tar=, annotation[-TYPE].KEY=)"));
    expect(() => parseOutput('type=local,dest="d', [])).toThrow(/bare " in non-quoted-field/);
    expect(() => parseOutput("type=nope", [])).toThrow(/unknown --output type=nope/);
  });
});

describe("--cache-to / --cache-from", () => {
  it("quoted fields and keys in any case", () => {
    expect(parseCacheTo('type=local,"dest=/c,1",MODE=max')).toEqual({ type: "local", dest: "/c,1", mode: "max" });
    expect(parseCacheFrom("Type=local,Src=/c")).toEqual({ type: "local", src: "/c" });
  });
  it("bad CSV, a key alone and a key twice are errors", () => {
    expect(() => parseCacheTo('type=local,dest="/c')).toThrow(CacheSpecError);
    expect(() => parseCacheTo("type=local,dest=/c,max")).toThrow('"max" is not KEY=VALUE');
    expect(() => parseCacheTo("type=local,dest=/c,DEST=/d")).toThrow("dest= is given twice");
  });
});
