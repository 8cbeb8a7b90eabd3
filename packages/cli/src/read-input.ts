import { readFile } from "node:fs/promises";

/** Reads a whole text input: a path, or "-" for standard input. */
export async function readTextInput(path: string, stdin: NodeJS.ReadableStream): Promise<string> {
  if (path !== "-") return readFile(path, "utf8");
  const chunks: Buffer[] = [];
  for await (const c of stdin) chunks.push(typeof c === "string" ? Buffer.from(c) : (c as Buffer));
  return Buffer.concat(chunks).toString("utf8");
}
