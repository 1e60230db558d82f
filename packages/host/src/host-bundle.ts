import { readFileSync, statSync } from "node:fs";

/**
 * The one-file build of the host CLI that `manifest` names (scripts/bundle-host.mjs, part of `pnpm build`)
 * while none of its inputs changed since, else null: a later `tsc -b` alone, a missing input or no bundle
 * built. main.ts calls this before anything else loads, so no zod here.
 */
export function currentHostBundle(manifest: string | URL): string | null {
  try {
    const parsed: unknown = JSON.parse(readFileSync(manifest, "utf8"));
    if (typeof parsed !== "object" || parsed === null || !("bundle" in parsed) || !("inputs" in parsed)) return null;
    const { bundle, inputs } = parsed;
    if (typeof bundle !== "string" || typeof inputs !== "object" || inputs === null) return null;
    return inputsUnchanged(inputs) && statSync(bundle).isFile() ? bundle : null;
  } catch {
    return null;
  }
}

/**
 * Whether every input a bundle manifest lists (path → mtime when the bundle was made) still has that mtime;
 * throws when one is gone. The host's and the worker's bundles (worker-path.ts) are current only then.
 */
export function inputsUnchanged(inputs: object): boolean {
  for (const [path, mtimeMs] of Object.entries(inputs)) if (statSync(path).mtimeMs !== mtimeMs) return false;
  return true;
}
