/**
 * ADD --checksum as dockerfile 1.7 reads it, before anything runs: the value parsed as go-digest's
 * digest.Parse parses it ("invalid checksum digest format", "unsupported digest algorithm",
 * "invalid checksum digest length"), then allowed only for exactly one source that is an http(s)
 * URL ("checksum can't be specified for multiple sources", "… for non-HTTP sources"), in that
 * order. go-digest knows sha384 and sha512 too, but BuildKit compares them with the download's
 * sha256, so such a checksum never matches there ("digest mismatch"): refused here at the line,
 * saying so, rather than after the download.
 */
import { DockerfileError, type Position } from "@tsbuild/dockerfile";

const SIZES: Record<string, number> = { sha256: 32, sha384: 48, sha512: 64 };
/** go-digest's DigestRegexp: what a digest of an algorithm it does not know must look like to be "unsupported" rather than malformed */
const DIGEST_SHAPE = /^[a-z0-9]+(?:[.+_-][a-z0-9]+)*:[a-zA-Z0-9=_-]+$/;

/** go-digest's Parse: the error text, or undefined when `d` is a digest it accepts. */
export function digestParseError(d: string): string | undefined {
  const i = d.indexOf(":");
  if (i <= 0 || i + 1 === d.length) return "invalid checksum digest format";
  const alg = d.slice(0, i);
  const hex = d.slice(i + 1);
  const size = SIZES[alg];
  if (size === undefined) return DIGEST_SHAPE.test(d) ? "unsupported digest algorithm" : "invalid checksum digest format";
  if (hex.length !== size * 2) return "invalid checksum digest length";
  if (!/^[a-f0-9]+$/.test(hex)) return "invalid checksum digest format";
  return undefined;
}

const isHttpSource = (s: string): boolean => s.startsWith("http://") || s.startsWith("https://");

/** The checked checksum of an ADD ("sha256:HEX"), undefined without --checksum; a DockerfileError at the line otherwise. */
export function addChecksum(i: { checksum?: string; sources: readonly string[] }, where: { file: string; position: Position | undefined }): string | undefined {
  if (i.checksum === undefined) return undefined;
  const fail = (msg: string, hint?: string): never => {
    throw new DockerfileError("bad-flag", msg, where.file, where.position, hint);
  };
  const bad = digestParseError(i.checksum);
  if (bad) fail(bad, "give --checksum=sha256:HEX, the 64 lower-case hex digits sha256sum prints");
  if (i.sources.length !== 1) fail("checksum can't be specified for multiple sources");
  if (!isHttpSource(i.sources[0] as string)) fail("checksum can't be specified for non-HTTP sources");
  const alg = i.checksum.slice(0, i.checksum.indexOf(":"));
  if (alg !== "sha256") {
    fail(`--checksum=${alg}:…: BuildKit checks a download by its sha256 only, so a ${alg} checksum never matches there (it fails with "digest mismatch")`, "give the sha256 digest (sha256sum FILE)");
  }
  return i.checksum;
}
