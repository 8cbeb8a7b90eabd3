export * from "./ast.js";
export * from "./errors.js";
export * from "./shell-lex.js";
export { parseDockerfile, extractBuilderFlags, parseWords, parseHeredocWord, chompHeredocContent } from "./parser.js";
export type { ParseOptions } from "./parser.js";
export { dumpBuildkit } from "./dump.js";
export { goQuote, goQuoteList } from "./go-quote.js";
