import type { ExposeInstruction } from "@tsbuild/dockerfile";
import type { InstructionHandler } from "./types.js";
import type { RuntimeConfig } from "../image/image-state.js";
import { addHistory } from "../step/history.js";

/**
 * EXPOSE's config change: each port as PORT/PROTO (tcp when none is given, the protocol lowercased:
 * 53/UDP is 53/udp); returns the keys it added.
 */
export function exposePorts(config: RuntimeConfig, ports: readonly string[]): string[] {
  const added: Record<string, Record<string, never>> = {};
  for (const p of ports) added[p.includes("/") ? p.toLowerCase() : `${p}/tcp`] = {};
  config.ExposedPorts = { ...config.ExposedPorts, ...added };
  return Object.keys(added);
}

export const expose: InstructionHandler<ExposeInstruction, "clock"> = async (e, st, i) => {
  const ports = exposePorts(st.image.config, i.ports);
  // Go prints a map sorted by key: map[443/udp:{} 80/tcp:{}]
  addHistory(e.clock, st, `EXPOSE map[${ports.sort().map((k) => `${k}:{}`).join(" ")}]`, true);
};
