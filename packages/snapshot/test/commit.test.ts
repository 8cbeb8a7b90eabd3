import { afterAll, describe, expect, it } from "vitest";
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { CopySnapshotter, OverlaySnapshotter, listCommitted, removeCommitted, type Snapshotter } from "../src/index.js";

const work = mkdtempSync(join(tmpdir(), "tsbuild-commit-"));
afterAll(() => rmSync(work, { recursive: true, force: true }));

async function commitFile(s: Snapshotter, key: string, name: string, parent: string | undefined, content: string): Promise<void> {
  const a = await s.prepare(key, parent);
  writeFileSync(join(a.root, "f"), content);
  await s.commit(name, key);
}

describe.each([
  ["overlay", (root: string) => new OverlaySnapshotter(root)],
  ["copy", (root: string) => new CopySnapshotter(root)],
])("%s commits", (kind, make) => {
  it("are first-wins: a second commit of the same name is discarded and never disturbs a mount on the first", async () => {
    const root = join(work, kind);
    const s = make(join(root, kind));
    await commitFile(s, "base-1", "base", undefined, "base");
    const mounted = await s.prepare("user", "base");
    // a second build commits the same snapshot name while the first one's is in use
    await commitFile(s, "base-2", "base", undefined, "second");
    expect(readFileSync(join(mounted.root, "f"), "utf8")).toBe("base");
    await s.remove("user");
    const v = await s.view("v", "base");
    expect(readFileSync(join(v.root, "f"), "utf8")).toBe("base");
    await s.remove("v");
    // nothing of the discarded commit is left: no staging dir, no active dir
    expect(readdirSync(join(root, kind, "c")).filter((n) => !/^[0-9a-f]{12}$/.test(n))).toEqual([]);
    expect(readdirSync(join(root, kind, "a"))).toEqual([]);
    const listed = await listCommitted(root);
    expect(listed.map((x) => x.name)).toEqual(["base"]);
    await removeCommitted(root, listed[0]!);
    expect(await s.exists("base")).toBe(false);
    expect(readdirSync(join(root, kind)).filter((n) => n.startsWith(".trash-"))).toEqual([]);
  });
});
