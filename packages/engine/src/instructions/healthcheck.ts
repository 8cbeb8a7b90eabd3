import { parseDuration, type HealthcheckInstruction } from "@tsbuild/dockerfile";
import type { InstructionHandler } from "./types.js";
import { addHistory } from "../step/history.js";
import { goQuote } from "@tsbuild/dockerfile";
import { DockerfileError } from "@tsbuild/dockerfile";

export const healthcheck: InstructionHandler<HealthcheckInstruction, "clock" | "graph"> = async (e, st, i) => {
  const dur = (name: string, v: string | undefined): number | undefined => {
    if (v === undefined) return undefined;
    const ns = parseDuration(v);
    if (ns === undefined) throw new DockerfileError("bad-flag", `HEALTHCHECK --${name}: invalid duration ${v}`, e.graph.file, i.position, "write e.g. 30s or 1m30s");
    return ns;
  };
  const hc = {
    Test: i.test,
    ...(i.interval !== undefined ? { Interval: dur("interval", i.interval) } : {}),
    ...(i.timeout !== undefined ? { Timeout: dur("timeout", i.timeout) } : {}),
    ...(i.startPeriod !== undefined ? { StartPeriod: dur("start-period", i.startPeriod) } : {}),
    ...(i.startInterval !== undefined ? { StartInterval: dur("start-interval", i.startInterval) } : {}),
    ...(i.retries !== undefined ? { Retries: i.retries } : {}),
  };
  st.image.config.Healthcheck = hc as typeof st.image.config.Healthcheck;
  const q = (v: string | undefined) => goQuote(v ?? "");
  addHistory(e.clock, st, `HEALTHCHECK &{[${i.test.map(goQuote).join(" ")}] ${q(i.interval)} ${q(i.timeout)} ${q(i.startPeriod)} ${q(i.startInterval)} '\\x${(i.retries ?? 0).toString(16).padStart(2, "0")}'}`, true);
};
