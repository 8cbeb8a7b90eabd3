/** Writes a plain tar (archives, not layers) from named files and byte buffers, streaming. */
import { createReadStream } from "node:fs";
import type { Writable } from "node:stream";
import { once } from "node:events";
import { encodeHeader, padding } from "./layer/tar-format.js";

export class TarWriter {
  private readonly dirs = new Set<string>();
  /** the output's first error: the next write throws it (an 'error' with no listener would crash node) */
  private failure: Error | undefined;
  constructor(private readonly out: Writable, private readonly mtime = new Date(0)) {
    out.on("error", (e) => (this.failure ??= e));
  }

  private async push(b: Buffer): Promise<void> {
    if (this.failure) throw this.failure;
    if (!this.out.write(b)) await once(this.out, "drain");
    if (this.failure) throw this.failure;
  }

  private header(name: string, type: "0" | "5", size: number, mode: number): Buffer {
    return encodeHeader({
      name, mode, uid: 0, gid: 0, size, mtime: this.mtime, type, linkname: "", uname: "", gname: "", devmajor: 0, devminor: 0, pax: new Map(),
    });
  }

  async dir(name: string): Promise<void> {
    const n = name.replace(/\/$/, "");
    if (this.dirs.has(n)) return;
    const parent = n.includes("/") ? n.slice(0, n.lastIndexOf("/")) : "";
    if (parent) await this.dir(parent);
    this.dirs.add(n);
    await this.push(this.header(n + "/", "5", 0, 0o755));
  }

  async bytes(name: string, data: Buffer | string): Promise<void> {
    const b = typeof data === "string" ? Buffer.from(data) : data;
    if (name.includes("/")) await this.dir(name.slice(0, name.lastIndexOf("/")));
    await this.push(this.header(name, "0", b.length, 0o644));
    await this.push(b);
    const pad = padding(b.length);
    if (pad) await this.push(Buffer.alloc(pad));
  }

  async file(name: string, path: string, size: number): Promise<void> {
    if (name.includes("/")) await this.dir(name.slice(0, name.lastIndexOf("/")));
    await this.push(this.header(name, "0", size, 0o644));
    let n = 0;
    for await (const c of createReadStream(path)) {
      n += (c as Buffer).length;
      await this.push(c as Buffer);
    }
    if (n !== size) throw new Error(`${path} changed size while archived (${n} != ${size})`);
    const pad = padding(size);
    if (pad) await this.push(Buffer.alloc(pad));
  }

  async finish(): Promise<void> {
    await this.push(Buffer.alloc(1024));
    if (this.failure) throw this.failure;
    this.out.end();
    await once(this.out, "finish");
  }
}
