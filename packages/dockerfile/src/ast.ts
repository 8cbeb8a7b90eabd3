/** The syntax tree, shaped as BuildKit's parser.Node so its dump format can be reproduced. */

export interface Heredoc {
  /** the delimiter word, quotes removed */
  name: string;
  /** the raw content, each line with its newline */
  content: string;
  /** `$` expansion applies (the delimiter was not quoted) */
  expand: boolean;
  /** `<<-`: leading tabs are stripped */
  chomp: boolean;
  /** `3<<EOF` */
  fileDescriptor: number;
}

export interface Node {
  /** the instruction keyword as written (first node), or an argument value */
  value: string;
  /** the arguments, in order (BuildKit's Next chain) */
  next: Node[];
  /** ONBUILD's inner instruction lives in `next[0].children[0]` */
  children: Node[];
  heredocs: Heredoc[];
  /** `json: true` for exec (JSON array) form */
  json: boolean;
  /** the logical line the instruction came from (continuations joined) */
  original: string;
  /** leading `--flag[=value]` words */
  flags: string[];
  /** 1-based lines */
  startLine: number;
  endLine: number;
  /** 1-based column of the keyword in startLine */
  column: number;
  /** comments right above the instruction */
  prevComment: string[];
}

export interface Directive {
  name: string;
  value: string;
  line: number;
}

export interface ParseWarning {
  message: string;
  line: number;
}

export interface ParsedDockerfile {
  file: string;
  /** one node per instruction */
  children: Node[];
  directives: Directive[];
  escapeToken: string;
  warnings: ParseWarning[];
  startLine: number;
  endLine: number;
  /** the source lines, for messages */
  lines: string[];
}

export function emptyNode(value = ""): Node {
  return {
    value,
    next: [],
    children: [],
    heredocs: [],
    json: false,
    original: "",
    flags: [],
    startLine: 0,
    endLine: 0,
    column: 1,
    prevComment: [],
  };
}

/** The lists of every leaf node: one frozen empty array, as a Dockerfile can have millions of leaves. */
const NO_NODES: Node[] = Object.freeze([]) as unknown as Node[];
const NO_HEREDOCS: Heredoc[] = Object.freeze([]) as unknown as Heredoc[];
const NO_STRINGS: string[] = Object.freeze([]) as unknown as string[];

/** An argument (a leaf of the tree): like emptyNode(value), but its lists are shared and frozen. */
export function valueNode(value: string): Node {
  return {
    value,
    next: NO_NODES,
    children: NO_NODES,
    heredocs: NO_HEREDOCS,
    json: false,
    original: "",
    flags: NO_STRINGS,
    startLine: 0,
    endLine: 0,
    column: 1,
    prevComment: NO_STRINGS,
  };
}
