/** rootless-entry.ts skips loading oci and the engine on root's common path by reading the variable by name: the name must stay oci's. */
import { describe, expect, it } from "vitest";
import { USERNS_ENV } from "@tsbuild/oci";
import { runRootless } from "../src/rootless-entry.js";

describe("runRootless", () => {
  it("reads the variable oci's USERNS_ENV names", () => {
    expect(USERNS_ENV).toBe("TSBUILD_USERNS");
  });
  it("as root outside a namespace: runs the command here", async () => {
    if (process.getuid?.() !== 0) return;
    expect(await runRootless("build", ["."], { env: {}, cwd: "/", stdout: process.stdout, stderr: process.stderr, stdin: process.stdin })).toBeUndefined();
  });
});
