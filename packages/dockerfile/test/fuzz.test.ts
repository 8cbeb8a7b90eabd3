import { describe, expect, it } from "vitest";
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { DockerfileError, dumpBuildkit, loadDockerfile, expandInstruction, mapLookup, parseDockerfile } from "../src/index.js";

/** A small deterministic PRNG (mulberry32), so a failure reproduces. */
function prng(seed: number): () => number {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const conformance = fileURLToPath(new URL("../../../../shared/conformance/", import.meta.url));
const own = [
  "FROM busybox AS a\nARG X=1\nRUN echo $X \\\n  && true\nCOPY --from=a --chown=1:1 [\"a b\", \"/c\"]\n",
  "# escape=`\nFROM x\nRUN <<EOF cat\nhello $X\nEOF\nENV A=1 B=\"2 3\"\nHEALTHCHECK --interval=5s CMD true\nONBUILD RUN ls\n",
  "ARG V\nFROM img:${V:-latest}\nLABEL a=b \"c d\"=e\nEXPOSE 80/tcp\nVOLUME [\"/v\"]\nUSER 1:1\nWORKDIR /w\nSHELL [\"/bin/sh\",\"-c\"]\nCMD [\"x\"]\n",
];
function corpus(): string[] {
  const out = [...own];
  for (const sub of ["buildkit-parser", "cases", "buildah-suite"]) {
    const dir = conformance + sub;
    if (!existsSync(dir)) continue;
    for (const n of readdirSync(dir)) {
      const f = `${dir}/${n}/Dockerfile`;
      if (existsSync(f)) out.push(readFileSync(f, "utf8"));
    }
  }
  return out;
}

const NOISE = ["\\", "`", "$", "{", "}", "[", "]", '"', "'", "<<", "<<-", "\n", " ", "=", "--", "#", "\t", "${", ":-", "\\\n", "FROM ", "AS ", "\u00e9", "\0"];

function mutate(text: string, rand: () => number): string {
  const lines = text.split("\n");
  const pick = (n: number) => Math.floor(rand() * n);
  const ops = 1 + pick(4);
  for (let k = 0; k < ops; k++) {
    const i = pick(lines.length);
    switch (pick(6)) {
      case 0:
        lines.splice(i, 1);
        break;
      case 1:
        lines.splice(i, 0, lines[pick(lines.length)] ?? "");
        break;
      case 2: {
        const j = pick(lines.length);
        [lines[i], lines[j]] = [lines[j] ?? "", lines[i] ?? ""];
        break;
      }
      case 3: {
        const l = lines[i] ?? "";
        const at = pick(l.length + 1);
        lines[i] = l.slice(0, at) + NOISE[pick(NOISE.length)] + l.slice(at);
        break;
      }
      case 4:
        lines[i] = (lines[i] ?? "").slice(0, pick((lines[i] ?? "").length + 1));
        break;
      default:
        lines.length = Math.max(1, pick(lines.length + 1));
    }
  }
  return lines.join("\n");
}

describe("fuzz: mutated Dockerfiles never throw anything but DockerfileError", () => {
  it("5000 mutations", () => {
    const rand = prng(20261123);
    const texts = corpus();
    let rejected = 0;
    for (let n = 0; n < 5000; n++) {
      const text = mutate(texts[n % texts.length] as string, rand);
      try {
        const g = loadDockerfile(text, "Dockerfile", { platform: { os: "linux", architecture: "amd64" } });
        // exercise expansion of every instruction too
        const ctx = { lookup: mapLookup({ X: "1" }), escapeToken: g.escapeToken, file: g.file };
        for (const s of g.stages) for (const i of s.instructions) expandInstruction(i, ctx);
      } catch (e) {
        if (!(e instanceof DockerfileError)) {
          throw new Error(`mutation ${n} threw ${(e as Error).stack}\n--- input ---\n${text}`);
        }
        expect(e.message).toMatch(/^Dockerfile(:\d+:\d+)?: /);
        rejected++;
      }
    }
    expect(rejected).toBeGreaterThan(0);
  });
  it("dump never throws on what parses", () => {
    const rand = prng(7);
    const texts = corpus();
    for (let n = 0; n < 1000; n++) {
      const text = mutate(texts[n % texts.length] as string, rand);
      try {
        dumpBuildkit(parseDockerfile(text));
      } catch (e) {
        if (!(e instanceof DockerfileError)) throw e;
      }
    }
  });
});

