export * from "./entry.js";
export * from "./layer-writer.js";
export * from "./layer-applier.js";
export * from "./walk-directory.js";
export * from "./compression.js";
export { readTar, type TarEntry } from "./tar-reader.js";
export { TarFormatError, type TarHeader } from "./tar-format.js";
export { normalizeEntryName, resolveInRoot } from "./safe-path.js";
export { readXattrs, setXattr } from "./xattrs.js";
