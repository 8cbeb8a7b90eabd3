/**
 * Containers of dead builds: a build killed with SIGKILL leaves its `runc run` and the container
 * running (nothing tells them), their state under the store's runc root. Container ids carry their
 * builder's owner stamp (`tsbuild-PID.START-RANDOM`, @tsbuild/oci owner-stamp.ts), so a later build
 * kills and deletes exactly the dead builds' containers: one readdir of the state dir when there are
 * none, runc only when there is one to delete.
 */
import { spawn } from "node:child_process";
import { readdirSync } from "node:fs";
import { findTool, type OwnerCheck } from "@tsbuild/oci";

/** Ids of the containers in `stateDir` whose builder is dead (one synchronous readdir). */
export function deadContainers(stateDir: string, owners: OwnerCheck): string[] {
  let names: string[];
  try {
    names = readdirSync(stateDir);
  } catch {
    return [];
  }
  return names.filter((n) => n.startsWith("tsbuild-") && owners.state(n) === "dead");
}

/** Kills (SIGKILL to the container's processes) and deletes a container; false if runc could not. */
export function deleteContainer(stateDir: string, id: string, runc = findTool("runc") ?? "runc"): Promise<boolean> {
  return new Promise((resolve) => {
    const c = spawn(runc, ["--root", stateDir, "delete", "--force", id], { stdio: "ignore" });
    c.on("error", () => resolve(false));
    c.on("close", (code) => resolve(code === 0));
  });
}
