/**
 * The credentials a git fetch over http(s) sends, from the build's secrets, as BuildKit's git source
 * reads them (getAuthToken): the first of the secrets `GIT_AUTH_HEADER.<host>`,
 * `GIT_AUTH_TOKEN.<host>`, `GIT_AUTH_HEADER`, `GIT_AUTH_TOKEN` that the build has. A header secret is
 * sent as is (`Authorization: <value>`); a token as `Authorization: basic base64(x-access-token:TOKEN)`.
 * The header is scoped to the remote's URL (for github.com, to every repository there, as
 * actions/checkout does).
 *
 * BuildKit puts it on git's command line (`-c http.<url>.extraheader=…`), where `ps` shows it; here
 * it reaches git only through its environment (GIT_CONFIG_COUNT / GIT_CONFIG_KEY_n /
 * GIT_CONFIG_VALUE_n), which only the same user can read, and nothing of it is written to a file.
 */
export interface GitAuth {
  /** environment entries that give git the header */
  env: Record<string, string>;
  /** the strings no message may carry (the secret, and the header made from it) */
  hide: string[];
}

export const GIT_AUTH_HEADER = "GIT_AUTH_HEADER";
export const GIT_AUTH_TOKEN = "GIT_AUTH_TOKEN";

function tokenScope(remote: string): string {
  for (const pfx of ["https://github.com/", "https://www.github.com/"]) if (remote.startsWith(pfx)) return pfx;
  return remote;
}

/** The auth for `remote` (on `host`) from `secrets`; undefined when none of the ids is given or the remote is not http(s). */
export function gitAuth(remote: string, host: string, secrets: ReadonlyMap<string, Buffer> | undefined): GitAuth | undefined {
  if (!secrets || !/^https?:\/\//i.test(remote)) return undefined;
  const names: { id: string; token: boolean }[] = [
    { id: `${GIT_AUTH_HEADER}.${host}`, token: false },
    { id: `${GIT_AUTH_TOKEN}.${host}`, token: true },
    { id: GIT_AUTH_HEADER, token: false },
    { id: GIT_AUTH_TOKEN, token: true },
  ];
  for (const n of names) {
    const value = secrets.get(n.id);
    if (value === undefined) continue;
    const secret = value.toString("utf8");
    if (/[\r\n\0]/.test(secret)) {
      throw new Error(`the secret ${n.id} holds a line break or a NUL byte, which an HTTP header cannot carry`);
    }
    const header = n.token ? `basic ${Buffer.from(`x-access-token:${secret}`).toString("base64")}` : secret;
    return {
      env: { GIT_CONFIG_COUNT: "1", GIT_CONFIG_KEY_0: `http.${tokenScope(remote)}.extraheader`, GIT_CONFIG_VALUE_0: `Authorization: ${header}` },
      hide: [secret, header].filter((s) => s.length > 0),
    };
  }
  return undefined;
}
