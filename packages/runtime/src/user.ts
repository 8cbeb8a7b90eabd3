/**
 * USER resolution as docker does it: `name`, `uid`, `uid:gid`, `name:group`, `uid:group` against
 * the image's /etc/passwd and /etc/group (read inside the root, symlinks resolved there);
 * supplementary groups from /etc/group; HOME from passwd (or "/").
 */
import { lstat, readFile } from "node:fs/promises";
import { posix } from "node:path";
import { resolveInRoot } from "@tsbuild/oci";

export interface ResolvedUser {
  uid: number;
  gid: number;
  additionalGids: number[];
  home: string;
  name?: string;
}

export class UserResolutionError extends Error {
  override readonly name = "UserResolutionError";
}

interface PasswdEntry {
  name: string;
  uid: number;
  gid: number;
  home: string;
}
interface GroupEntry {
  name: string;
  gid: number;
  members: string[];
}

async function readInRoot(root: string, path: string): Promise<string> {
  // every component, the file's own name too: an image's /etc/passwd -> /x symlink is the image's /x
  const resolved = await resolveInRoot(root, path.replace(/^\//, ""));
  try {
    // a regular file only: a fifo would wait for a writer forever, a device (/dev/zero) never end
    if (!(await lstat(posix.join(root, resolved))).isFile()) return "";
    return await readFile(posix.join(root, resolved), "utf8");
  } catch {
    return "";
  }
}

function parsePasswd(text: string): PasswdEntry[] {
  return text.split("\n").filter((l) => l && !l.startsWith("#")).map((l) => l.split(":")).filter((f) => f.length >= 4)
    .map((f) => ({ name: f[0] as string, uid: Number(f[2]), gid: Number(f[3]), home: f[5] ?? "/" }));
}
function parseGroup(text: string): GroupEntry[] {
  return text.split("\n").filter((l) => l && !l.startsWith("#")).map((l) => l.split(":")).filter((f) => f.length >= 3)
    .map((f) => ({ name: f[0] as string, gid: Number(f[2]), members: (f[3] ?? "").split(",").filter(Boolean) }));
}

const isNum = (s: string) => /^\d+$/.test(s);

export async function resolveUser(root: string, spec: string | undefined): Promise<ResolvedUser> {
  const user = spec && spec !== "" ? spec : "root";
  const [u, g] = user.split(":", 2) as [string, string | undefined];
  const passwd = parsePasswd(await readInRoot(root, "/etc/passwd"));
  const groups = parseGroup(await readInRoot(root, "/etc/group"));
  let entry = isNum(u) ? passwd.find((p) => p.uid === Number(u)) : passwd.find((p) => p.name === u);
  // the default user needs no passwd file (FROM scratch)
  if (!entry && u === "root" && (spec === undefined || spec === "" || spec === "root")) return { uid: 0, gid: 0, additionalGids: [], home: "/" };
  if (!entry && !isNum(u)) throw new UserResolutionError(`unable to find user ${u}: no matching entries in passwd file`);
  const uid = isNum(u) ? Number(u) : (entry as PasswdEntry).uid;
  let gid = entry ? entry.gid : 0;
  if (g !== undefined && g !== "") {
    if (isNum(g)) gid = Number(g);
    else {
      const ge = groups.find((x) => x.name === g);
      if (!ge) throw new UserResolutionError(`unable to find group ${g}: no matching entries in group file`);
      gid = ge.gid;
    }
  }
  const name = entry?.name;
  // supplementary groups: those listing the user (only when no group was given explicitly); the
  // primary group is not repeated (BuildKit's `id` shows no groups= for a user without any)
  const additionalGids = g === undefined && name ? groups.filter((x) => x.members.includes(name) && x.gid !== gid).map((x) => x.gid) : [];
  if (entry && entry.uid !== uid) entry = undefined;
  return { uid, gid, additionalGids, home: entry?.home || "/", ...(name ? { name } : {}) };
}
