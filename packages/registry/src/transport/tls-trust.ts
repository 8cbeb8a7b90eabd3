/**
 * The certificate authorities tsbuild trusts for https (registries and ADD's downloads): Node's
 * bundled roots, plus the system's store as Go's crypto/x509 reads it on Linux (BuildKit trusts
 * that one), plus NODE_EXTRA_CA_CERTS. Go's rules: the first bundle file that can be read of
 * Debian's /etc/ssl/certs/ca-certificates.crt, Fedora's, OpenSUSE's, … Alpine's (or only
 * SSL_CERT_FILE when set), then every file of /etc/ssl/certs and /etc/pki/tls/certs (or the
 * colon-separated SSL_CERT_DIR when set) except symlinks to a name in the same directory (the
 * hash links); only CERTIFICATE blocks count, anything else in a file is skipped. So
 * `update-ca-certificates`, SSL_CERT_FILE and SSL_CERT_DIR work as they do for BuildKit.
 */
import { readFileSync, readdirSync, readlinkSync } from "node:fs";
import { createSecureContext, rootCertificates, type SecureContext } from "node:tls";

/** Go's certFiles (crypto/x509/root_linux.go), in its order. */
export const SYSTEM_CERT_FILES = [
  "/etc/ssl/certs/ca-certificates.crt",
  "/etc/pki/tls/certs/ca-bundle.crt",
  "/etc/ssl/ca-bundle.pem",
  "/etc/pki/tls/cacert.pem",
  "/etc/pki/ca-trust/extracted/pem/tls-ca-bundle.pem",
  "/etc/ssl/cert.pem",
];
/** Go's certDirectories. */
export const SYSTEM_CERT_DIRS = ["/etc/ssl/certs", "/etc/pki/tls/certs"];

const PEM_CERT = /-----BEGIN CERTIFICATE-----[\s\S]*?-----END CERTIFICATE-----/g;

function readText(path: string): string | undefined {
  try {
    return readFileSync(path, "latin1");
  } catch {
    return undefined;
  }
}

const certsIn = (text: string | undefined): string[] => (text === undefined ? [] : text.match(PEM_CERT) ?? []);

/** The system's CA certificates (PEM blocks) as Go finds them, for this environment. */
export function systemCertificates(env: NodeJS.ProcessEnv = process.env): string[] {
  const out: string[] = [];
  const files = env.SSL_CERT_FILE ? [env.SSL_CERT_FILE] : SYSTEM_CERT_FILES;
  for (const f of files) {
    const text = readText(f);
    if (text !== undefined) {
      out.push(...certsIn(text));
      break;
    }
  }
  const dirs = env.SSL_CERT_DIR ? env.SSL_CERT_DIR.split(":") : SYSTEM_CERT_DIRS;
  for (const d of dirs) {
    let names: import("node:fs").Dirent[];
    try {
      names = readdirSync(d, { withFileTypes: true });
    } catch {
      continue;
    }
    for (const e of names) {
      if (e.isSymbolicLink()) {
        try {
          if (!readlinkSync(`${d}/${e.name}`).includes("/")) continue; // a hash link to a file beside it
        } catch {
          continue;
        }
      }
      out.push(...certsIn(readText(`${d}/${e.name}`)));
    }
  }
  return out;
}

const contexts = new Map<string, SecureContext>();

/**
 * One TLS context per process (and per value of the variables it reads) trusting Node's roots,
 * the system's and NODE_EXTRA_CA_CERTS (which Node itself drops as soon as a `ca` is given).
 */
export function trustedSecureContext(env: NodeJS.ProcessEnv = process.env): SecureContext {
  const key = JSON.stringify([env.SSL_CERT_FILE ?? "", env.SSL_CERT_DIR ?? "", env.NODE_EXTRA_CA_CERTS ?? ""]);
  let ctx = contexts.get(key);
  if (!ctx) {
    const extra = env.NODE_EXTRA_CA_CERTS ? certsIn(readText(env.NODE_EXTRA_CA_CERTS)) : [];
    // OpenSSL keeps one copy of a certificate given twice (the system's and Node's bundles overlap)
    ctx = createSecureContext({ ca: [...rootCertificates, ...systemCertificates(env), ...extra] });
    contexts.set(key, ctx);
  }
  return ctx;
}
