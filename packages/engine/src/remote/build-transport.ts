/**
 * The build's HTTP transport for ADD's downloads, made on first use: the registry package (and
 * undici) is loaded only by builds that fetch something, as the CLI bundle keeps it lazy.
 */
import type { HttpTransport } from "@tsbuild/registry";

export class BuildTransport {
  private made: Promise<HttpTransport> | undefined;

  /** the transport (proxies and CAs from the process environment, as BuildKit's daemon reads its own) */
  get(): Promise<HttpTransport> {
    this.made ??= import("@tsbuild/registry").then(({ HttpTransport: T }) => new T());
    return this.made;
  }

  async close(): Promise<void> {
    if (this.made) await (await this.made).close();
  }
}
