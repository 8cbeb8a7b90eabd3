import type { LayerCompression } from "@tsbuild/oci";
import { UsageError } from "./args.js";

export const COMPRESSION_OPTION = { name: "compression", value: true, arg: "gzip|zstd|uncompressed", help: "layer compression where the image leaves the store", default: "gzip" } as const;

/** `--compression gzip|zstd|uncompressed` (default gzip): the layers of an image leaving the store. */
export function parseCompression(value: string | undefined): LayerCompression {
  const v = value ?? "gzip";
  if (v === "uncompressed") return "none";
  if (v === "gzip" || v === "zstd") return v;
  throw new UsageError(`--compression ${v}: use gzip, zstd or uncompressed`);
}
