/**
 * The content digest of exactly the context files a COPY/ADD selects (after .dockerignore): path,
 * type, mode, size, content hash and link target, mtimes excluded (DESIGN.md, cache keys). File
 * hashes are remembered by their stat tuple in the context stat index (context-stat-index.ts), so
 * an unchanged file is never read again: a rebuild costs one lstat per entry and one readdir per
 * directory, synchronous (a context of 20,000 files is 20,000 lstats; promises cost 3× more).
 */
import { createHash } from "node:crypto";
import { constants, createReadStream, lstatSync, readdirSync, readFileSync, readlinkSync, type Stats } from "node:fs";
import { join, posix } from "node:path";
import type { IgnoreMatcher } from "./dockerignore.js";
import { expandSource, followInRoot } from "../copy/copier.js";
import { CopyFilter, type FilterState } from "../copy/copy-filter.js";
import { copyUnits, NO_SELECTION, type CopySelection } from "../copy/copy-units.js";
import { quotePath as q } from "./listing.js";
import type { ContextListings } from "./listing.js";
import { ContextStatIndex } from "./stat-index.js";


/** Files up to this size are read in one call; larger ones stream. */
const READ_WHOLE = 1 << 20;

const NO_THROW = { throwIfNoEntry: false } as const;
const { S_IFMT, S_IFDIR, S_IFLNK, S_IFREG } = constants;

/** The permission bits in octal, as listing lines have them (made once per mode). */
const modeTexts = new Map<number, string>();
function modeText(mode: number): string {
  const bits = mode & 0o7777;
  let t = modeTexts.get(bits);
  if (t === undefined) modeTexts.set(bits, (t = bits.toString(8)));
  return t;
}

/** A file line waiting for its content hash: lines[line] gets it appended. */
interface Unhashed {
  line: number;
  abs: string;
  st: Stats;
}

export class ContextIndex {
  private readonly stats: ContextStatIndex;
  /** the mtime (whole seconds) of every entry the last digest of each path visited, by context path */
  private readonly mtimes = new Map<string, number>();

  constructor(file: string, private readonly listings?: ContextListings) {
    this.stats = new ContextStatIndex(file);
  }

  async load(): Promise<void> {
    await this.stats.load();
  }

  /** Persists what this build learnt (most of it written already, see saveSoon), and waits for the listings it wrote. */
  async save(): Promise<void> {
    await Promise.all([this.stats.save(), this.listings?.flush()]);
  }

  private async hashFile(abs: string, st: Stats): Promise<string> {
    const h = createHash("sha256");
    if (st.size <= READ_WHOLE) h.update(readFileSync(abs));
    else for await (const c of createReadStream(abs)) h.update(c as Buffer);
    const hash = h.digest("hex");
    this.stats.remember(abs, st, hash);
    return hash;
  }

  /**
   * The mtime in whole seconds (as a layer has it) of a context entry when a digest last visited it.
   * Listing lines leave times out (they are not in cache keys), so an incremental COPY asks this to
   * tell an entry whose time alone changed (touched, checked out again) from an unchanged one.
   */
  mtimeOf(rel: string): number | undefined {
    return this.mtimes.get(rel);
  }

  /**
   * @param selection --parents and --exclude: the entries below a directory source that they leave
   * out are not in the digest (nor in its listing), and a directory is in it only where something
   * below it is selected (copy-filter.ts, the same decisions the copier makes)
   */
  async digest(root: string, ignoreFile: IgnoreMatcher | undefined, sources: string[], selection: CopySelection = NO_SELECTION): Promise<string> {
    const ignore = ignoreFile?.empty ? undefined : ignoreFile; // (asked for each of 20,000 entries otherwise)
    const lines: string[] = [];
    const unhashed: Unhashed[] = [];
    /** Adds the line of one entry (a directory's own line only); a file whose hash is not known gets it later. */
    const entry = (rel: string, abs: string, st: Stats): void => {
      this.mtimes.set(rel, Math.floor(st.mtimeMs / 1000));
      const type = st.mode & S_IFMT;
      const mode = modeText(st.mode);
      if (type === S_IFDIR) lines.push(`dir ${q(rel)} ${mode}`);
      else if (type === S_IFLNK) lines.push(`link ${q(rel)} ${q(readlinkSync(abs))}`);
      else if (type === S_IFREG) {
        const known = this.stats.lookup(abs, st);
        if (known === undefined) unhashed.push({ line: lines.length, abs, st });
        lines.push(`file ${q(rel)} ${mode} ${st.size} ${known ?? ""}`);
      } else lines.push(`other ${q(rel)} ${mode}`);
    };
    /** A directory's entries after .dockerignore, as the copier walks them. */
    const children = (rel: string, abs: string): { child: string; name: string }[] =>
      readdirSync(abs).sort().flatMap((n) => {
        const child = rel ? `${rel}/${n}` : n;
        if (ignore?.excluded(child)) {
          const cst = lstatSync(join(abs, n));
          if (!cst.isDirectory() || !ignore.mayIncludeBelow(child)) return [];
        }
        return [{ child, name: n }];
      });
    const visit = (rel: string, abs: string): void => {
      const st = lstatSync(abs, NO_THROW);
      if (!st) {
        lines.push(`missing ${q(rel)}`);
        return;
      }
      entry(rel, abs, st);
      if (st.isDirectory()) for (const c of children(rel, abs)) visit(c.child, `${abs}/${c.name}`);
    };
    /**
     * The entries below a directory source that a filter selects. `pending` holds the directories
     * above that are not selected themselves: they enter the listing (as the copier makes them)
     * once something below them is. Returns whether something was selected at or below `required`.
     */
    type Pending = { rel: string; abs: string; st: Stats };
    const visitFiltered = (rel: string, abs: string, filter: CopyFilter, wrel: string, state: FilterState | undefined, pending: Pending[], required: string | undefined): boolean => {
      let seen = false;
      for (const c of children(rel, abs)) {
        const r = wrel ? `${wrel}/${c.name}` : c.name;
        const d = filter.check(r, state);
        if (!d.include && !d.descend) continue;
        const cabs = `${abs}/${c.name}`;
        const st = lstatSync(cabs);
        if (!d.include && !st.isDirectory()) continue;
        if (d.include) {
          if (required !== undefined && r.startsWith(required)) seen = true;
          for (const p of pending.splice(0)) entry(p.rel, p.abs, p.st);
          entry(c.child, cabs, st);
          if (st.isDirectory() && visitFiltered(c.child, cabs, filter, r, d.state, pending, required)) seen = true;
          continue;
        }
        const depth = pending.length;
        pending.push({ rel: c.child, abs: cabs, st });
        if (visitFiltered(c.child, cabs, filter, r, d.state, pending, required)) seen = true;
        if (pending.length > depth) pending.length = depth; // nothing below was selected
      }
      return seen;
    };
    // (what selects is in the source line: listings skip those)
    const selects = `${selection.parents ? " parents" : ""}${selection.exclude.map((x) => ` exclude ${q(x)}`).join("")}`;
    for (const unit of copyUnits(sources, selection)) {
      lines.push(`source ${q(unit.written)}${selects}`);
      const filter = CopyFilter.of(unit.include !== undefined ? [unit.include] : undefined, selection.exclude);
      for (const m of await expandSource({ root, ...(ignore ? { ignore } : {}), isContext: true }, unit.path)) {
        // a source that is (or lies under) a symlink is copied from where it leads: that is what counts
        const followed = m === "" ? "" : await followInRoot(root, m);
        if (followed !== m) lines.push(`follow ${q(m)} ${q(followed)}`);
        const abs = posix.join(root, followed);
        const st = filter ? lstatSync(abs, NO_THROW) : undefined;
        if (!filter || !st) {
          visit(followed, abs);
          continue;
        }
        // the source itself is never filtered: a file is copied whatever the patterns say
        if (!st.isDirectory()) {
          if (unit.required !== undefined) lines.push(`missing ${q(unit.written)}`);
          else entry(followed, abs, st);
          continue;
        }
        entry(followed, abs, st);
        const seen = visitFiltered(followed, abs, filter, "", undefined, [], unit.required);
        if (unit.required !== undefined && !seen) lines.push(`missing ${q(unit.written)}`);
      }
    }
    for (const u of unhashed) lines[u.line] += await this.hashFile(u.abs, u.st);
    const digest = `sha256:${createHash("sha256").update(`${lines.join("\n")}\n`).digest("hex")}`;
    this.listings?.save(digest, lines);
    if (unhashed.length) this.stats.saveSoon();
    return digest;
  }
}
