import { defineConfig } from "vitest/config";
import { fileURLToPath } from "node:url";
import { readdirSync } from "node:fs";

// Tests import sibling packages by name; resolve them to their TypeScript sources so a test never
// runs against a stale dist/.
const packagesDir = fileURLToPath(new URL("./packages/", import.meta.url));
const alias = Object.fromEntries(
  readdirSync(packagesDir).map((name) => [`@tsbuild/${name}`, `${packagesDir}${name}/src/index.ts`]),
);
alias["@tsbuild/cli"] = `${packagesDir}cli/src/main.ts`;

export default defineConfig({
  resolve: { alias },
  test: {
    include: ["packages/*/test/**/*.test.ts"],
    testTimeout: 60_000,
    hookTimeout: 120_000,
    pool: "forks",
  },
});
