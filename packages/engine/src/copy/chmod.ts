/** COPY/ADD --chmod: the octal mode given to what the step copies (the copier applies it; see copier.ts). */
export function parseChmod(spec: string | undefined): number | undefined {
  if (spec === undefined) return undefined;
  if (!/^[0-7]{3,4}$/.test(spec)) throw new Error(`invalid --chmod=${spec}: use an octal mode like 0644`);
  return Number.parseInt(spec, 8);
}
