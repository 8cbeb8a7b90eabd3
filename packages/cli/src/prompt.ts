/**
 * Asking on the terminal, as `docker login` does: a visible line for the user name, a hidden one for
 * the password (raw mode, no echo; Ctrl-C or Ctrl-D cancels). Only when stdin is a terminal: the
 * caller checks `isTerminal` first and otherwise asks for flags.
 */
import { createInterface } from "node:readline";
import type { Writable } from "node:stream";

interface TerminalInput extends NodeJS.ReadableStream {
  isTTY?: boolean;
  setRawMode?(mode: boolean): unknown;
}

export class PromptCancelledError extends Error {
  override readonly name = "PromptCancelledError";
}

export function isTerminal(stdin: NodeJS.ReadableStream): boolean {
  return (stdin as TerminalInput).isTTY === true;
}

/** Reads one line, shown as typed. */
export async function promptLine(stdin: NodeJS.ReadableStream, out: Writable, question: string): Promise<string> {
  const rl = createInterface({ input: stdin, output: out, terminal: false });
  try {
    out.write(question);
    const line = await new Promise<string | undefined>((resolve) => {
      rl.once("line", resolve);
      rl.once("close", () => resolve(undefined));
    });
    if (line === undefined) throw new PromptCancelledError("no answer (end of input)");
    return line;
  } finally {
    rl.close();
  }
}

/** Reads one line without echoing it (backspace edits; Ctrl-C / Ctrl-D cancel). */
export async function promptHidden(stdin: NodeJS.ReadableStream, out: Writable, question: string): Promise<string> {
  const tty = stdin as TerminalInput;
  tty.setRawMode?.(true); // before the question: nothing typed after it is ever echoed
  out.write(question);
  let value = "";
  try {
    return await new Promise<string>((resolve, reject) => {
      const onData = (chunk: Buffer | string) => {
        for (const ch of chunk.toString()) {
          if (ch === "\r" || ch === "\n") return done(() => resolve(value));
          if (ch === "\u0003" || ch === "\u0004") return done(() => reject(new PromptCancelledError("cancelled")));
          if (ch === "\u007f" || ch === "\b") value = value.slice(0, -1);
          else value += ch;
        }
      };
      const done = (settle: () => void) => {
        stdin.off("data", onData);
        stdin.pause();
        settle();
      };
      stdin.on("data", onData);
      stdin.resume();
    });
  } finally {
    tty.setRawMode?.(false);
    out.write("\n");
  }
}
