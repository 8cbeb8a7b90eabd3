import type { ExposeInstruction } from "@tsbuild/dockerfile";
import type { InstructionHandler } from "./types.js";
import { addHistory } from "../step/history.js";

export const expose: InstructionHandler<ExposeInstruction, "clock"> = async (e, st, i) => {
  const ports: Record<string, Record<string, never>> = {};
  for (const p of i.ports) ports[p.includes("/") ? p.toLowerCase() : `${p}/tcp`] = {};
  st.image.config.ExposedPorts = { ...st.image.config.ExposedPorts, ...ports };
  // Go prints a map sorted by key: map[443/udp:{} 80/tcp:{}]
  addHistory(e.clock, st, `EXPOSE map[${Object.keys(ports).sort().map((k) => `${k}:{}`).join(" ")}]`, true);
};
