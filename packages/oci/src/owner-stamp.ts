/**
 * Whose is a thing in the store: everything a process makes there that can outlive it (scratch dirs,
 * ingest files, session files, active snapshots, commit staging, runc containers, mount points) has
 * an owner stamp in its name, `-PID.START-` (START: the process's start time, /proc/PID/stat field
 * 22, so a pid used again by another process is not taken for the owner). A thing is the work of a
 * live process while that process runs; once it is gone, the thing is a dead build's leftover that
 * any later process may remove. Names from before stamps had a start time (`-PID-`) are judged by
 * the pid alone; names with no stamp say nothing about their owner.
 */
import { processAlive, processStartTime } from "./lock.js";

export interface OwnerStamp {
  pid: number;
  /** the owner's start time, when the name has it */
  start?: string;
}

/** `-PID.START-RANDOM` (or `-PID-RANDOM`) at the end of a name, or the whole name without the dash. */
const STAMP = /(?:^|-)(\d+)(?:\.(\d+))?-[A-Za-z0-9]+$/;

let own: string | undefined;
/** This process's stamp, `PID.START` (put it in a name as `…-STAMP-RANDOM`). */
export function ownerStamp(): string {
  if (own === undefined) {
    const start = processStartTime(process.pid);
    own = start === undefined ? String(process.pid) : `${process.pid}.${start}`;
  }
  return own;
}

/** The owner a name is stamped with, if it is. */
export function parseStamp(name: string): OwnerStamp | undefined {
  const m = STAMP.exec(name);
  if (!m) return undefined;
  return { pid: Number(m[1]), ...(m[2] !== undefined ? { start: m[2] } : {}) };
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
    const key = `${s.pid}.${s.start ?? ""}`;
    let alive = this.known.get(key);
    if (alive === undefined) {
      alive = processAlive(s.pid, s.start);
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
