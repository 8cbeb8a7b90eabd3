/**
 * COPY/ADD --chmod, as BuildKit reads it: an octal mode up to 07777 ("755", "0640", "7"), or
 * (Dockerfile 1.14) a symbolic one with BSD chmod(1)'s grammar as BuildKit's mode library parses it
 * with a zero umask: comma-separated clauses `[ugoa]*[+-=][rwxXst]*|[ugo]`, several operations in a
 * clause (`u+r-w`), `X` for "execute if a directory or already executable by anyone" (judged on
 * the mode before the change), copies between classes (`g=u`, `go=u-w`). An octal mode replaces
 * the permission bits; a symbolic one changes each copied entry's own mode. The copier applies it
 * (copier.ts) to every file and directory it copies or makes from a source; symlinks keep theirs.
 */

export class ChmodError extends Error {
  override readonly name = "ChmodError";
}

/** A parsed --chmod: the mode an entry gets from its own. */
export interface ChmodSpec {
  /** the flag as written (cache keys use it as written) */
  readonly text: string;
  /** permission bits (setuid, setgid, sticky included) for an entry whose mode is `mode` */
  apply(mode: number, isDir: boolean): number;
}

const S_ISUID = 0o4000;
const S_ISGID = 0o2000;
const S_ISVTX = 0o1000;
const USER = 0o700;
const GROUP = 0o070;
const OTHER = 0o007;
/** what "a" (or no class at all, with a zero umask) changes: everything but the sticky bit */
const ALL = S_ISUID | S_ISGID | USER | GROUP | OTHER;
const READ = 0o444;
const WRITE = 0o222;
const EXEC = 0o111;

/** One step of a symbolic mode, applied in order. */
type Step =
  | { op: "clear"; bits: number }
  | { op: "set"; bits: number }
  /** set `bits` when the original mode had an execute bit or the entry is a directory */
  | { op: "setIfExec"; bits: number }
  /** the rwx bits of class `from` added to, taken from or put in the classes whose read bit `to` has */
  | { op: "copy"; from: "u" | "g" | "o"; to: number; how: "+" | "-" | "=" };

function syntaxError(text: string): ChmodError {
  return new ChmodError(`invalid chmod parameter: '${text}': invalid syntax`);
}

function octalError(text: string): ChmodError {
  return new ChmodError(`invalid chmod parameter: '${text}'. it should be octal string and between 0 and 07777`);
}

/** The bits of `who` (a class mask, 0 for none given) that `perm` names. */
function bitsFor(who: number, perm: number): number {
  return who !== 0 ? who & perm : perm;
}

function parseSymbolic(text: string): Step[] {
  const steps: Step[] = [];
  let s = text;
  for (;;) {
    let who = 0;
    for (;;) {
      if (s === "") throw syntaxError(text);
      const c = s[0];
      if (c === "a") who |= ALL;
      else if (c === "u") who |= S_ISUID | USER;
      else if (c === "g") who |= S_ISGID | GROUP;
      else if (c === "o") who |= OTHER;
      else break;
      s = s.slice(1);
    }
    // one or more operations on the same classes
    for (;;) {
      const op = s[0];
      s = s.slice(1);
      if (op !== "+" && op !== "-" && op !== "=") throw syntaxError(text);
      who &= ~S_ISVTX; // (a "t" of the clause's previous operation)
      let perm = 0;
      let permX = 0;
      let copied = false; // an "=" whose clearing a copy already did
      const flushEquals = (): void => {
        steps.push({ op: "clear", bits: who !== 0 ? who : ALL });
        steps.push({ op: "set", bits: bitsFor(who, perm) });
      };
      for (;;) {
        const c = s[0];
        if (c === "r") perm |= READ;
        else if (c === "w") perm |= WRITE;
        else if (c === "x") perm |= EXEC;
        else if (c === "X") {
          if (op === "-") perm |= EXEC;
          else permX = EXEC;
        } else if (c === "s") {
          // set-id bits mean nothing for "other" alone
          if (who === 0 || (who & ~OTHER) !== 0) perm |= S_ISUID | S_ISGID;
        } else if (c === "t") {
          if (who === 0 || (who & ~OTHER) !== 0) {
            who |= S_ISVTX;
            perm |= S_ISVTX;
          }
        } else if (c === "u" || c === "g" || c === "o") {
          if (perm !== 0) {
            if (op === "=") flushEquals();
            else steps.push({ op: op === "+" ? "set" : "clear", bits: bitsFor(who, perm) });
            perm = 0;
          }
          if (op === "=") copied = true;
          if (permX !== 0) {
            steps.push({ op: "setIfExec", bits: bitsFor(who, permX) });
            permX = 0;
          }
          steps.push({ op: "copy", from: c, to: who !== 0 ? who & READ : READ, how: op });
        } else {
          if (perm !== 0 || (op === "=" && !copied)) {
            if (op === "=") {
              copied = true;
              flushEquals();
            } else steps.push({ op: op === "+" ? "set" : "clear", bits: bitsFor(who, perm) });
          }
          if (permX !== 0) steps.push({ op: "setIfExec", bits: bitsFor(who, permX) });
          break;
        }
        s = s.slice(1);
      }
      if (s === "" || s[0] === ",") break;
    }
    if (s === "") break;
    s = s.slice(1); // the ","
  }
  return steps;
}

/** rwx of class `c` in `mode`, as three bits. */
function classBits(mode: number, c: "u" | "g" | "o"): number {
  return c === "u" ? (mode >> 6) & 7 : c === "g" ? (mode >> 3) & 7 : mode & 7;
}

function applySteps(steps: readonly Step[], original: number, isDir: boolean): number {
  let mode = original;
  for (const st of steps) {
    if (st.op === "clear") mode &= ~st.bits;
    else if (st.op === "set") mode |= st.bits;
    else if (st.op === "setIfExec") {
      if ((original & EXEC) !== 0 || isDir) mode |= st.bits;
    } else {
      const value = classBits(mode, st.from);
      // the classes copied into: `to` holds their read bits
      const targets: number[] = [];
      if (st.to & 0o400) targets.push(6);
      if (st.to & 0o040) targets.push(3);
      if (st.to & 0o004) targets.push(0);
      if (st.how === "-" || st.how === "=") {
        const clear = st.how === "=" ? 7 : value;
        for (const shift of targets) mode &= ~(clear << shift);
      }
      if (st.how === "+" || st.how === "=") {
        for (const shift of targets) mode |= value << shift;
      }
    }
  }
  return mode & 0o7777;
}

/**
 * --chmod as BuildKit's frontend takes it (undefined: not given): octal when Go's
 * strconv.ParseUint(s, 8, 32) reads it (above 07777 refused), else symbolic.
 * @throws ChmodError with BuildKit's message
 */
export function parseChmod(spec: string | undefined): ChmodSpec | undefined {
  if (spec === undefined || spec === "") return undefined;
  if (/^[0-7]+$/.test(spec)) {
    const value = Number.parseInt(spec, 8);
    if (value > 0o7777) throw octalError(spec);
    return { text: spec, apply: () => value };
  }
  // a value that looks numeric but is not octal gets the octal message (as BuildKit's compatibility check)
  if (/^[0-9]/.test(spec)) throw octalError(spec);
  const steps = parseSymbolic(spec);
  return { text: spec, apply: (mode, isDir) => applySteps(steps, mode & 0o7777, isDir) };
}
