/**
 * COPY/ADD --chmod as BuildKit parses it (its frontend, then its mode library: BSD chmod(1) with a
 * zero umask). The expected modes are chmod(1)'s, for the cases BuildKit's own tests compare with
 * chmod (client_fileop_test: a file 0644 and a directory 0500), the reference's examples and the
 * grammar's corners.
 */
import { describe, expect, it } from "vitest";
import { ChmodError, parseChmod } from "../src/copy/chmod.js";

const apply = (spec: string, mode: number, isDir = false): string => (parseChmod(spec)?.apply(mode, isDir) ?? -1).toString(8).padStart(4, "0");

describe("--chmod", () => {
  it("octal: any number of octal digits up to 07777, the permission bits replaced whatever the entry", () => {
    expect(apply("755", 0o600)).toBe("0755");
    expect(apply("0644", 0o777, true)).toBe("0644");
    expect(apply("7", 0o644)).toBe("0007");
    expect(apply("00640", 0o777)).toBe("0640");
    expect(apply("0", 0o644)).toBe("0000");
    expect(apply("4755", 0o644)).toBe("4755");
    expect(apply("7777", 0)).toBe("7777");
    expect(parseChmod(undefined)).toBeUndefined();
    expect(parseChmod("")).toBeUndefined(); // (as BuildKit: an empty --chmod is none)
  });

  it("symbolic, as chmod(1) on BuildKit's test entries (a file 0644, a directory 0500)", () => {
    expect(apply("go-w", 0o644)).toBe("0644");
    expect(apply("o-rwx,g+x", 0o644)).toBe("0650");
    expect(apply("u=rwx,g=,o=", 0o644)).toBe("0700");
    expect(apply("u+rw,g+r,o-x,o+w", 0o644)).toBe("0646");
    expect(apply("a+X", 0o500, true)).toBe("0511");
    expect(apply("g+rw,o+rw", 0o500, true)).toBe("0566");
    expect(apply("u=rwX,go=rX", 0o500, true)).toBe("0755");
  });

  it("X: execute only for directories and entries executable by someone already (judged before the change)", () => {
    expect(apply("u=rwX,go=rX", 0o640)).toBe("0644");
    expect(apply("u=rwX,go=rX", 0o740)).toBe("0755");
    expect(apply("u=rwX,go=rX", 0o600, true)).toBe("0755");
    expect(apply("+X", 0o644)).toBe("0644");
    expect(apply("+X", 0o744)).toBe("0755");
    expect(apply("a-x,a+X", 0o755)).toBe("0755"); // the original had x
    expect(apply("=rw,+X", 0o751)).toBe("0777");
    expect(apply("-X", 0o755)).toBe("0644"); // "-X" takes execute like "-x"
  });

  it("+x, a-w, no class meaning all; several operations in one clause", () => {
    expect(apply("+x", 0o644)).toBe("0755");
    expect(apply("a-w", 0o777)).toBe("0555");
    expect(apply("-w", 0o666)).toBe("0444");
    expect(apply("=r", 0o4777)).toBe("0444"); // "=" clears set-id bits too
    expect(apply("u+r-w", 0o200)).toBe("0400");
    expect(apply("go=", 0o777)).toBe("0700");
  });

  it("copies between classes: g=u, go=u-w, o+g", () => {
    expect(apply("g=u", 0o640)).toBe("0660");
    expect(apply("g=u", 0o750, true)).toBe("0770");
    expect(apply("go=u-w", 0o755)).toBe("0755");
    expect(apply("o+g", 0o650)).toBe("0655");
    expect(apply("u-g", 0o770)).toBe("0070");
  });

  it("set-id and sticky bits: g+s, u+s, +s (both), o+s (nothing), +t; u=rwx clears setuid", () => {
    expect(apply("g+s", 0o755, true)).toBe("2755");
    expect(apply("u+s", 0o755)).toBe("4755");
    expect(apply("+s", 0o755)).toBe("6755");
    expect(apply("o+s", 0o755)).toBe("0755");
    expect(apply("+t", 0o755, true)).toBe("1755");
    expect(apply("o+t", 0o755, true)).toBe("0755");
    expect(apply("u=rwx", 0o4755)).toBe("0755");
    expect(apply("g-s", 0o2755)).toBe("0755");
    // BSD's quirk, kept: a "t" with no class limits the operation to the sticky bit
    expect(apply("+rt", 0o600)).toBe("1600");
  });

  it("invalid values: BuildKit's messages (octal-looking ones get the octal one)", () => {
    const msg = (s: string): string => {
      try {
        parseChmod(s);
        return "accepted";
      } catch (e) {
        expect(e).toBeInstanceOf(ChmodError);
        return (e as Error).message;
      }
    };
    for (const bad of ["8", "0x1", "1x", "77777", "0o755", "9"]) expect(msg(bad)).toBe(`invalid chmod parameter: '${bad}'. it should be octal string and between 0 and 07777`);
    for (const bad of ["u", "u+x,", "x", "+q", "u+x;", "rwx", "a", ",u+x", "+755", "u+x,,g+x"]) expect(msg(bad)).toBe(`invalid chmod parameter: '${bad}': invalid syntax`);
  });
});
