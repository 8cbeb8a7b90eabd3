// QEMU's binfmt_misc handlers, switched off while the bench runs: Docker 20.10's BuildKit probes every
// registered emulator at the start of each build (about 1.3 s a build here), which is not what it costs
// where no emulators are registered and not what the bench compares. /proc/sys/fs/binfmt_misc/status
// is machine-wide: it is set back as soon as the bench ends, also on SIGINT/SIGTERM or an error.
import { existsSync, readFileSync, writeFileSync } from "node:fs";

const STATUS = "/proc/sys/fs/binfmt_misc/status";

/** Disables binfmt_misc when it is enabled; returns the function that restores it (safe to call twice). */
export function binfmtOff(log = console.log) {
  if (!existsSync(STATUS) || readFileSync(STATUS, "utf8").trim() !== "enabled") return () => {};
  writeFileSync(STATUS, "0");
  log(`binfmt_misc was enabled: disabled it for the run (old BuildKit probes every emulator, ~1.3 s a build); it is restored at the end`);
  let restored = false;
  const restore = () => {
    if (restored) return;
    restored = true;
    writeFileSync(STATUS, "1");
    log("binfmt_misc re-enabled");
  };
  process.once("exit", restore);
  return restore;
}
