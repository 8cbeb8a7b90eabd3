/**
 * Whose is a thing in the store: everything a process makes there that can outlive it (scratch dirs,
 * ingest files, session files, active snapshots, commit staging, runc containers, mount points) has
 * an owner stamp in its name, `-PID.START.NS-` (START: the process's start time, /proc/PID/stat
 * field 22, so a pid used again by another process is not taken for the owner; NS: the inode of its
 * pid namespace, so that a build in another container sharing the store, whose pid means nothing
 * here, is never taken for dead). A thing is the work of a live process while that process runs;
 * once it is gone, the thing is a dead build's leftover that any later process may remove. Names
 * from before stamps had a start time (`-PID-`) are judged by the pid alone; names with no stamp say
 * nothing about their owner.
 */
import { processAlive, processStartTime } from "./lock.js";
import { procPid, procPidNamespace } from "./user-namespace.js";

export interface OwnerStamp {
  pid: number;
  /** the owner's start time, when the name has it */
  start?: string;
  /** the inode of the owner's pid namespace, when the name has it */
  ns?: string;
}

/** `-PID.START.NS-RANDOM` (or `-PID.START-…`, `-PID-…`) at the end of a name, or the whole name without the dash. */
const STAMP = /(?:^|-)(\d+)(?:\.(\d+)(?:\.(\d+))?)?-[A-Za-z0-9]+$/;

let own: string | undefined;
let ownNs: string | undefined;
/** This process's stamp, `PID.START.NS` (put it in a name as `…-STAMP-RANDOM`). */
export function ownerStamp(): string {
  if (own === undefined) {
    // the pid and namespace of /proc (a rootless build's own pid namespace keeps the host's /proc)
    const pid = procPid();
    const start = processStartTime(pid);
    ownNs = procPidNamespace();
    own = start === undefined ? String(pid) : ownNs === undefined ? `${pid}.${start}` : `${pid}.${start}.${ownNs}`;
  }
  return own;
}

/** The owner a name is stamped with, if it is. */
export function parseStamp(name: string): OwnerStamp | undefined {
  const m = STAMP.exec(name);
  if (!m) return undefined;
  return { pid: Number(m[1]), ...(m[2] !== undefined ? { start: m[2] } : {}), ...(m[3] !== undefined ? { ns: m[3] } : {}) };
}

export type OwnerState = "live" | "dead" | "unowned";

/**
 * Tells live owners from dead ones by the names they stamped, each owner looked up once
 * (one read of /proc/PID/stat): make one per pass over the store, not one for ever.
 */
export class OwnerCheck {
  private readonly known = new Map<string, boolean>();

  state(name: string): OwnerState {
    const s = parseStamp(name);
    if (!s) return "unowned";
    const key = `${s.pid}.${s.start ?? ""}.${s.ns ?? ""}`;
    let alive = this.known.get(key);
    if (alive === undefined) {
      ownerStamp();
      // another pid namespace's process cannot be looked up from here: taken as live, never swept
      alive = (s.ns !== undefined && ownNs !== undefined && s.ns !== ownNs) || processAlive(s.pid, s.start);
      this.known.set(key, alive);
    }
    return alive ? "live" : "dead";
  }

  /** The state of the first stamped component of a path (relative to the store root), or "unowned". */
  pathState(rel: string): OwnerState {
    for (const part of rel.split("/")) {
      const st = this.state(part);
      if (st !== "unowned") return st;
    }
    return "unowned";
  }
}
