// The base images, made at run time as root file system tarballs: busybox (as oracle.sh makes it) and
// the same with 200 MB of data under /data in 2,000 files. Each builder imports them its own way.
import { execFileSync } from "node:child_process";
import { chmodSync, copyFileSync, mkdirSync, symlinkSync, writeFileSync } from "node:fs";
import { randomBytes } from "node:crypto";
import { join } from "node:path";

export const BASE_ENV = "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";
export const BASES = {
  busybox: { ref: "localhost:5000/tsbuild-bench/busybox:latest", dataMB: 0 },
  big: { ref: "localhost:5000/tsbuild-bench/big:latest", dataMB: 200 },
};

function busyboxRootfs(dir) {
  for (const d of ["bin", "etc", "tmp", "root"]) mkdirSync(join(dir, d), { recursive: true });
  chmodSync(join(dir, "tmp"), 0o1777);
  copyFileSync("/bin/busybox", join(dir, "bin/busybox"));
  chmodSync(join(dir, "bin/busybox"), 0o755);
  for (const a of execFileSync("/bin/busybox", ["--list"]).toString().split("\n")) if (a && a !== "busybox") symlinkSync("busybox", join(dir, "bin", a));
  writeFileSync(join(dir, "etc/passwd"), "root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/sh\n");
  writeFileSync(join(dir, "etc/group"), "root:x:0:\nnogroup:x:65534:\n");
}

/** Writes WORK/NAME.tar for each base named; returns { name: tarPath }. */
export function makeBaseTars(work, names) {
  const out = {};
  for (const name of names) {
    const dir = join(work, `rootfs-${name}`);
    busyboxRootfs(dir);
    const files = BASES[name].dataMB * 10;
    for (let i = 0; i < files; i++) {
      const d = join(dir, "data", `d${i % 20}`);
      mkdirSync(d, { recursive: true });
      writeFileSync(join(d, `f${i}`), randomBytes(100_000));
    }
    out[name] = join(work, `${name}.tar`);
    execFileSync("tar", ["-C", dir, "--numeric-owner", "-cf", out[name], "."]);
  }
  return out;
}
