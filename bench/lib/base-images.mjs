// The base images, made at run time as root file system tarballs: busybox (as oracle.sh makes it),
// the same with 200 MB of data under /data in 2,000 files, and a "debian-like" one: busybox with
// about 100 MB in ~12,000 small files laid out as dpkg leaves them (/usr/share/doc, /usr/lib,
// /usr/share/PKG, /var/lib/dpkg/info/*.list|md5sums, /var/lib/dpkg/status), plus an "upgrade"
// archive under /var/cache/apt/archives for a RUN to unpack, so a fixture can churn files as apt does
// without a real Debian (no network). Each builder imports the tarballs its own way.
import { execFileSync } from "node:child_process";
import { chmodSync, copyFileSync, mkdirSync, symlinkSync, writeFileSync } from "node:fs";
import { randomBytes } from "node:crypto";
import { join } from "node:path";

export const BASE_ENV = "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";
export const BASES = {
  busybox: { ref: "localhost:5000/tsbuild-bench/busybox:latest", dataMB: 0 },
  big: { ref: "localhost:5000/tsbuild-bench/big:latest", dataMB: 200 },
  debian: { ref: "localhost:5000/tsbuild-bench/debian:latest", dataMB: 0, fill: debianLike },
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

// text-like content (compresses about 2:1, as a distribution's files do) or binary (does not)
const text = (bytes) => randomBytes(Math.ceil(bytes / 2)).toString("hex").slice(0, bytes).replace(/(.{72})/g, "$1\n");
const binary = (bytes) => randomBytes(bytes);

/** One package's files (paths relative to the root) and their contents; VERSION changes the contents. */
function packageFiles(pkg) {
  const files = [
    [`usr/share/doc/${pkg}/copyright`, text(1_500)],
    [`usr/share/doc/${pkg}/changelog.Debian.gz`, binary(3_000)],
    [`usr/share/man/man1/${pkg}.1.gz`, binary(1_200)],
    [`usr/share/lintian/overrides/${pkg}`, text(200)],
  ];
  for (let i = 0; i < 6; i++) files.push([`usr/lib/${pkg}/lib${pkg}-${i}.so`, binary(25_000)]);
  for (let i = 0; i < 14; i++) files.push([`usr/share/${pkg}/data-${i}.txt`, text(5_000)]);
  for (let i = 0; i < 2; i++) files.push([`usr/share/locale/l${i}/LC_MESSAGES/${pkg}.mo`, binary(2_000)]);
  return files;
}

const PACKAGES = 420; // 26 files and ~230 kB each, with their dpkg records ~12,000 files and ~100 MB
const UPGRADED = 60; // pkg0..pkg59 get new versions from the upgrade archive, pkg420..pkg459 are new

function writeAll(root, files) {
  for (const [path, content] of files) {
    mkdirSync(join(root, path, ".."), { recursive: true });
    writeFileSync(join(root, path), content);
  }
}

function dpkgRecords(root, pkg, files, version) {
  const info = join(root, "var/lib/dpkg/info");
  mkdirSync(info, { recursive: true });
  writeFileSync(join(info, `${pkg}.list`), files.map(([p]) => `/${p}\n`).join(""));
  writeFileSync(join(info, `${pkg}.md5sums`), files.map(([p]) => `${randomBytes(16).toString("hex")}  ${p}\n`).join(""));
  return `Package: ${pkg}\nStatus: install ok installed\nVersion: ${version}\nArchitecture: amd64\nDescription: bench package ${pkg}\n\n`;
}

function debianLike(dir, work) {
  let status = "";
  for (let p = 0; p < PACKAGES; p++) {
    const pkg = `pkg${p}`;
    const files = packageFiles(pkg);
    writeAll(dir, files);
    status += dpkgRecords(dir, pkg, files, "1.0-1");
  }
  writeFileSync(join(dir, "var/lib/dpkg/status"), status);
  for (const d of ["var/cache/debconf", "var/log", "etc/apt"]) mkdirSync(join(dir, d), { recursive: true });
  writeFileSync(join(dir, "var/cache/debconf/config.dat"), text(200_000));
  writeFileSync(join(dir, "var/cache/debconf/templates.dat"), text(800_000));
  // the upgrade: new versions of pkg0..pkg59 and 40 new packages, as one tar a RUN unpacks
  const up = join(work, "debian-upgrade");
  for (let p = 0; p < UPGRADED + 40; p++) {
    const pkg = p < UPGRADED ? `pkg${p}` : `pkg${PACKAGES + p - UPGRADED}`;
    const files = packageFiles(pkg);
    writeAll(up, files);
    dpkgRecords(up, pkg, files, "2.0-1");
  }
  mkdirSync(join(dir, "var/cache/apt/archives"), { recursive: true });
  execFileSync("tar", ["-C", up, "--numeric-owner", "-cf", join(dir, "var/cache/apt/archives/upgrade.tar"), "."]);
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
    BASES[name].fill?.(dir, work);
    out[name] = join(work, `${name}.tar`);
    execFileSync("tar", ["-C", dir, "--numeric-owner", "-cf", out[name], "."]);
  }
  return out;
}
