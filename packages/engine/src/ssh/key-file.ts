/**
 * Whether a `--ssh ID=FILE` file is a private key tsbuild can hand to its agent, checked as Go's
 * ssh.ParseRawPrivateKey (what buildx's agent provider calls) refuses one: no PEM block ("ssh: no
 * key found"), a PEM type it does not read, or a key under a passphrase (buildx does not ask for
 * it: "ssh: this private key is passphrase protected"). What passes is loaded by ssh-add, which
 * parses it for real. The key's bytes are never part of a message.
 */

/** the PEM types ssh.ParseRawPrivateKey reads */
const TYPES = new Set(["RSA PRIVATE KEY", "PRIVATE KEY", "EC PRIVATE KEY", "DSA PRIVATE KEY", "OPENSSH PRIVATE KEY"]);

/** Why Go's ssh package would refuse this key file, in its words; undefined when it would read it. */
export function keyFileProblem(data: Buffer): string | undefined {
  const text = data.toString("latin1");
  // encoding/pem: the first "-----BEGIN TYPE-----" line with its END, headers, then base64
  const m = /-----BEGIN ([^\n-]*)-----\r?\n([\s\S]*?)-----END \1-----/.exec(text);
  if (!m) return "ssh: no key found";
  const type = m[1] as string;
  const body = m[2] as string;
  if (!TYPES.has(type)) return `ssh: unsupported key type "${type}"`;
  // an RFC 1421 encrypted block (x509.IsEncryptedPEMBlock)
  if (/^Proc-Type:\s*4,ENCRYPTED/m.test(body) || /^DEK-Info:/m.test(body)) return "ssh: this private key is passphrase protected";
  if (type === "OPENSSH PRIVATE KEY") {
    const bytes = Buffer.from(body.replace(/^[A-Za-z-]+:.*$/gm, "").replace(/\s+/g, ""), "base64");
    const magic = "openssh-key-v1\0";
    if (bytes.subarray(0, magic.length).toString("latin1") !== magic) return "ssh: invalid openssh private key format";
    if (bytes.length < magic.length + 4) return "ssh: invalid openssh private key format";
    const n = bytes.readUInt32BE(magic.length);
    const cipher = bytes.subarray(magic.length + 4, magic.length + 4 + n).toString("latin1");
    if (cipher !== "none") return "ssh: this private key is passphrase protected";
  }
  return undefined;
}
