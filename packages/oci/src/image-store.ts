/**
 * Image names (name:tag → manifest or index descriptor), kept as an OCI index at
 * <root>/refs/index.json, each entry annotated with its full name. Updates take a lock and are
 * written atomically.
 */
import { mkdir, readFile } from "node:fs/promises";
import { join } from "node:path";
import { writeFileAtomic } from "./fs-atomic.js";
import { withFileLock } from "./lock.js";
import { MediaTypes } from "./media-types.js";
import { normalizeName } from "./reference.js";
import type { Descriptor, ImageIndex } from "./types/image.js";
import { parseIndex } from "./validate.js";

export const REF_NAME_ANNOTATION = "org.opencontainers.image.ref.name";
export const CREATED_ANNOTATION = "org.opencontainers.image.created";

export interface ImageRecord {
  /** full normalised name: docker.io/library/app:latest */
  name: string;
  target: Descriptor;
  created?: string;
}

export interface ImageStore {
  list(): Promise<ImageRecord[]>;
  get(name: string): Promise<ImageRecord | undefined>;
  put(name: string, target: Descriptor): Promise<void>;
  /** names several images in one atomic update of the names: all of them, or none */
  putAll(images: { name: string; target: Descriptor }[]): Promise<void>;
  remove(name: string): Promise<boolean>;
}

export class LocalImageStore implements ImageStore {
  private readonly file: string;
  private readonly lockFile: string;

  constructor(readonly root: string) {
    this.file = join(root, "refs", "index.json");
    this.lockFile = join(root, "locks", "refs.lock");
  }

  private async read(): Promise<ImageIndex> {
    try {
      return parseIndex(await readFile(this.file));
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === "ENOENT") return { schemaVersion: 2, mediaType: MediaTypes.OCI_INDEX, manifests: [] };
      throw e;
    }
  }

  async list(): Promise<ImageRecord[]> {
    const idx = await this.read();
    return idx.manifests.map((d) => {
      const { annotations, ...rest } = d;
      const name = annotations?.[REF_NAME_ANNOTATION] ?? "";
      const created = annotations?.[CREATED_ANNOTATION];
      const other = Object.fromEntries(Object.entries(annotations ?? {}).filter(([k]) => k !== REF_NAME_ANNOTATION && k !== CREATED_ANNOTATION));
      const target: Descriptor = Object.keys(other).length ? { ...rest, annotations: other } : rest;
      return { name, target, ...(created ? { created } : {}) };
    });
  }

  async get(name: string): Promise<ImageRecord | undefined> {
    const full = normalizeName(name);
    return (await this.list()).find((r) => r.name === full);
  }

  async put(name: string, target: Descriptor): Promise<void> {
    await this.putAll([{ name, target }]);
  }

  async putAll(images: { name: string; target: Descriptor }[]): Promise<void> {
    const named = images.map((i) => ({ full: normalizeName(i.name), target: i.target }));
    await this.update((idx) => {
      let changed = false;
      for (const { full, target } of named) {
        const current = idx.manifests.find((d) => d.annotations?.[REF_NAME_ANNOTATION] === full);
        if (current && sameTarget(current, target)) continue; // a no-op rebuild: nothing to rewrite
        idx.manifests = idx.manifests.filter((d) => d.annotations?.[REF_NAME_ANNOTATION] !== full);
        idx.manifests.push({
          ...target,
          annotations: { ...target.annotations, [REF_NAME_ANNOTATION]: full, [CREATED_ANNOTATION]: new Date().toISOString() },
        });
        changed = true;
      }
      return changed;
    });
  }

  async remove(name: string): Promise<boolean> {
    const full = normalizeName(name);
    let removed = false;
    await this.update((idx) => {
      const before = idx.manifests.length;
      idx.manifests = idx.manifests.filter((d) => d.annotations?.[REF_NAME_ANNOTATION] !== full);
      removed = idx.manifests.length !== before;
      return removed;
    });
    return removed;
  }

  private async update(fn: (idx: ImageIndex) => boolean): Promise<void> {
    await mkdir(join(this.root, "locks"), { recursive: true });
    await withFileLock(this.lockFile, async () => {
      const idx = await this.read();
      if (fn(idx)) {
        idx.manifests.sort((a, b) => (a.annotations?.[REF_NAME_ANNOTATION] ?? "").localeCompare(b.annotations?.[REF_NAME_ANNOTATION] ?? ""));
        await writeFileAtomic(this.file, JSON.stringify(idx, null, 2) + "\n");
      }
    });
  }
}

/** Whether a named entry already points at `target` (same blob, type and annotations besides the name and date). */
function sameTarget(current: Descriptor, target: Descriptor): boolean {
  const rest = (d: Descriptor) => {
    const { annotations, ...fields } = d;
    const other = Object.entries(annotations ?? {}).filter(([k]) => k !== REF_NAME_ANNOTATION && k !== CREATED_ANNOTATION);
    return JSON.stringify([Object.entries(fields).sort(), other.sort()]);
  };
  return rest(current) === rest(target);
}
