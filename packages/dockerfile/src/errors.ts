/** A position in a Dockerfile: 1-based line and column. */
export interface Position {
  line: number;
  column: number;
  endLine?: number;
}

export type DockerfileErrorCode =
  | "empty-file"
  | "parse"
  | "directive"
  | "frontend"
  | "build-arg"
  | "unknown-instruction"
  | "flag-not-allowed"
  | "bad-flag"
  | "bad-mount"
  | "bad-json"
  | "unterminated-heredoc"
  | "bad-heredoc"
  | "unknown-stage"
  | "forward-stage-reference"
  | "duplicate-stage"
  | "no-from"
  | "missing-arguments"
  | "expansion"
  | "target-not-found";

/**
 * Every problem with a Dockerfile is a DockerfileError: it says where (`file:line:col`), what, and
 * where there is one, how to fix it. Never a stack trace for a bad Dockerfile.
 */
export class DockerfileError extends Error {
  override readonly name = "DockerfileError";
  constructor(
    readonly code: DockerfileErrorCode,
    readonly detail: string,
    readonly file: string,
    readonly position: Position | undefined,
    readonly hint?: string,
  ) {
    super(formatMessage(file, position, detail, hint));
  }
}

function formatMessage(file: string, pos: Position | undefined, detail: string, hint?: string): string {
  const where = pos ? `${file}:${pos.line}:${pos.column}` : file;
  return `${where}: ${detail}${hint ? ` (${hint})` : ""}`;
}
