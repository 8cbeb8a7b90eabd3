// Running a command with a wall-clock time; for tsbuild's --progress=json (written to stderr), each
// event line is stamped with the time it arrived, so a slow build can be split into start-up, steps,
// export and exit.
import { spawn } from "node:child_process";

const running = new Set();

/** Stops the commands running now (on SIGINT/SIGTERM): their promises reject. */
export function stopRunning(signal = "SIGINT") {
  for (const child of running) child.kill(signal);
}

/** Runs cmd to completion; resolves { seconds, stdout, stderr, lines: [{ ms, event }] }; rejects on exit != 0. */
export function timed(cmd, args, { env, json = false } = {}) {
  return new Promise((resolve, reject) => {
    const t0 = process.hrtime.bigint();
    const ms = () => Number(process.hrtime.bigint() - t0) / 1e6;
    const child = spawn(cmd, args, { env: { ...process.env, ...env }, stdio: ["ignore", "pipe", "pipe"] });
    running.add(child);
    let stdout = "", stderr = "", partial = "";
    const lines = [];
    child.stdout.on("data", (d) => { stdout += d.toString(); });
    child.stderr.on("data", (d) => {
      const text = d.toString();
      stderr += text;
      if (!json) return;
      const parts = (partial + text).split("\n");
      partial = parts.pop();
      const at = ms();
      for (const p of parts) if (p.startsWith("{")) { try { lines.push({ ms: at, event: JSON.parse(p) }); } catch { /* not an event */ } }
    });
    child.on("error", reject);
    child.on("close", (code) => {
      running.delete(child);
      const seconds = ms() / 1000;
      if (code === 0) resolve({ seconds, stdout, stderr, lines });
      else reject(new Error(`${cmd} ${args.join(" ")} exited ${code}:\n${(stderr || stdout).split("\n").slice(-15).join("\n")}`));
    });
  });
}

/** Runs cmd and returns its stdout, for set-up steps that are not timed. */
export async function quiet(cmd, args, opts) {
  return (await timed(cmd, args, opts)).stdout;
}
