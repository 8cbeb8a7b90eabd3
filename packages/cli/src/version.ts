/** tsbuild's version (packages/cli/package.json's; a test keeps the two equal). */
export const VERSION = "0.1.0";

/** What `tsbuild --version` prints: tsbuild's version, Node's, the store format it reads and the store a command would use. */
export async function versionText(env: NodeJS.ProcessEnv): Promise<string> {
  const { defaultStoreRoot, STORE_FORMAT } = await import("@tsbuild/oci"); // loaded here, not by every command
  return `tsbuild ${VERSION}\nNode.js ${process.version}\nstore format ${STORE_FORMAT}\nstore ${defaultStoreRoot(env)}\n`;
}
