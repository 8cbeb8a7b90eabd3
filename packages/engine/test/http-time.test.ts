import { describe, expect, it } from "vitest";
import { parseHttpTime } from "../src/remote/http-time.js";

describe("parseHttpTime (Go's http.ParseTime)", () => {
  it("reads the three formats HTTP/1.1 allows, as UTC", () => {
    expect(parseHttpTime("Tue, 02 Jan 2024 03:04:05 GMT")?.toISOString()).toBe("2024-01-02T03:04:05.000Z");
    expect(parseHttpTime("Tuesday, 02-Jan-24 03:04:05 GMT")?.toISOString()).toBe("2024-01-02T03:04:05.000Z");
    expect(parseHttpTime("Sunday, 06-Nov-94 08:49:37 GMT")?.toISOString()).toBe("1994-11-06T08:49:37.000Z");
    expect(parseHttpTime("Tue Jan  2 03:04:05 2024")?.toISOString()).toBe("2024-01-02T03:04:05.000Z");
  });
  it("anything else is no time (BuildKit then dates the file at the epoch)", () => {
    for (const v of ["yesterday", "2024-01-02T03:04:05Z", "Tue, 2 Jan 2024 03:04:05 GMT", "Tue, 02 Jan 2024 03:04:05 UTC", "Tue, 31 Feb 2024 03:04:05 GMT", "Tue, 02 Jan 2024 25:04:05 GMT", ""]) {
      expect(parseHttpTime(v), v).toBeUndefined();
    }
  });
});
