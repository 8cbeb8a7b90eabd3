/**
 * ARG scoping inside a stage, as BuildKit does it: an ARG is visible from its declaration to the end
 * of the stage; its value is the --build-arg if given, else its (expanded) default, else the value
 * of the global ARG of the same name, else the predefined platform arg; it reaches RUN's
 * environment but never the image config. ENV of the same name wins over an ARG in expansion.
 */
import type { ArgDeclaration } from "./instructions.js";
import type { BuildGraph } from "./lower.js";
import { platformArgs, PROXY_ARGS } from "./platform.js";

export class StageArgScope {
  private readonly values = new Map<string, string | undefined>();
  private readonly predefined: Map<string, string>;

  constructor(private readonly graph: Pick<BuildGraph, "buildArgs" | "metaArgs" | "buildPlatform" | "targetPlatform">) {
    this.predefined = platformArgs(graph.buildPlatform, graph.targetPlatform);
  }

  /** Declares an ARG (its default already expanded by the caller). */
  declare(decl: ArgDeclaration): void {
    const cli = this.graph.buildArgs.get(decl.key);
    let value: string | undefined;
    if (cli !== undefined) value = cli;
    else if (decl.value !== undefined) value = decl.value;
    else if (this.graph.metaArgs.has(decl.key)) value = this.graph.metaArgs.get(decl.key);
    else value = this.predefined.get(decl.key);
    this.values.delete(decl.key);
    this.values.set(decl.key, value);
  }

  /** The value of a declared ARG (undefined when undeclared or declared without any value). */
  get(name: string): string | undefined {
    return this.values.get(name);
  }

  has(name: string): boolean {
    return this.values.has(name);
  }

  /** Declared ARGs that have a value, in declaration order: what RUN sees and history records. */
  entries(): [string, string][] {
    return [...this.values].filter((e): e is [string, string] => e[1] !== undefined);
  }

  /** Proxy build-args: passed to RUN without a declaration, never recorded. */
  proxyArgs(): [string, string][] {
    return [...this.graph.buildArgs].filter(([k]) => PROXY_ARGS.has(k) && !this.values.has(k));
  }

  clone(): StageArgScope {
    const c = new StageArgScope(this.graph);
    for (const [k, v] of this.values) c.values.set(k, v);
    return c;
  }
}
