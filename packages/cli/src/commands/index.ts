import type { Command } from "../command.js";

/**
 * The command table: name → lazy loader, so `tsbuild parse` never loads the registry client.
 * Adding a command is one file under commands/ and one line here.
 */
export const commands: Record<string, () => Promise<Command>> = {
  build: async () => (await import("./build.js")).buildCommand,
  run: async () => (await import("./run.js")).runCommand,
  parse: async () => (await import("./parse.js")).parseCommand,
  images: async () => (await import("./images.js")).imagesCommand,
  inspect: async () => (await import("./inspect.js")).inspectCommand,
  history: async () => (await import("./history.js")).historyCommand,
  tag: async () => (await import("./tag.js")).tagCommand,
  rmi: async () => (await import("./rmi.js")).rmiCommand,
  save: async () => (await import("./save.js")).saveCommand,
  load: async () => (await import("./load.js")).loadCommand,
  import: async () => (await import("./import.js")).importCommand,
  du: async () => (await import("./du.js")).duCommand,
  prune: async () => (await import("./prune.js")).pruneCommand,
  store: async () => (await import("./store.js")).storeCommand,
  pull: async () => (await import("./pull.js")).pullCommand,
  push: async () => (await import("./push.js")).pushCommand,
  login: async () => (await import("./login.js")).loginCommand,
  info: async () => (await import("./info.js")).infoCommand,
  completion: async () => (await import("./completion.js")).completionCommand,
};
