import { describe, expect, it } from "vitest";
import { PassThrough } from "node:stream";
import { progressPrinter } from "../src/progress.js";
import { TtyProgress } from "../src/progress-tty.js";

function sink() {
  const s = new PassThrough();
  let text = "";
  s.on("data", (d) => (text += d));
  return { s, text: () => text };
}

describe("progress", () => {
  it("plain: BuildKit-style lines", () => {
    const o = sink();
    const p = progressPrinter("plain", o.s);
    p({ type: "step-start", id: 1, stage: "build", step: "1/2", instruction: "RUN make" });
    p({ type: "step-output", id: 1, stream: "stdout", data: "compiling\n" });
    p({ type: "step-done", id: 1, durationMs: 300, cached: false, cacheKey: "k" });
    p.finish();
    expect(o.text()).toBe("#1 [build 1/2] RUN make\n#1 compiling\n#1 DONE 0.3s\n");
  });
  it("json: one event per line", () => {
    const o = sink();
    const p = progressPrinter("json", o.s);
    p({ type: "warning", message: "w" });
    expect(JSON.parse(o.text())).toEqual({ type: "warning", message: "w" });
  });
  it("tty: running steps redrawn below finished ones, with times and output", () => {
    const o = sink();
    let now = 0;
    const v = new TtyProgress(o.s, 80, () => now);
    v.handle({ type: "step-start", id: 1, stage: "0", step: "1/1", instruction: "RUN sleep 1" });
    v.handle({ type: "step-output", id: 1, stream: "stdout", data: "working\n" });
    now = 1500;
    v.handle({ type: "step-done", id: 1, durationMs: 1500, cached: false, cacheKey: "k" });
    v.finish();
    const plainText = o.text().replace(/\x1b\[[0-9]*[AK]/g, "");
    expect(plainText).toContain(" => [0 1/1] RUN sleep 1  1.5s\n");
    expect(plainText).toContain("[+] Building 1.5s (1/1)");
  });
});
