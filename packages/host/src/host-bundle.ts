import { readFileSync, statSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname } from "node:path";
import { Script } from "node:vm";

/** The one-file CLI a manifest names, and the V8 code cache made for this process's flags (null: none). */
export interface HostBundle {
  bundle: string;
  codeCache: string | null;
}

/**
 * The one-file build of the host CLI that `manifest` names (scripts/bundle-host.mjs, part of `pnpm build`)
 * while none of its inputs changed since, else null: a later `tsc -b` alone, a missing input or no bundle
 * built. main.ts calls this before anything else loads, so no zod here. The code cache is the one the
 * build made for `execArgv` (V8 refuses a cache made under other flags).
 */
export function currentHostBundle(manifest: string | URL, execArgv: readonly string[] = process.execArgv): HostBundle | null {
  try {
    const parsed: unknown = JSON.parse(readFileSync(manifest, "utf8"));
    if (typeof parsed !== "object" || parsed === null || !("bundle" in parsed) || !("inputs" in parsed)) return null;
    const { bundle, inputs } = parsed;
    if (typeof bundle !== "string" || typeof inputs !== "object" || inputs === null) return null;
    if (!inputsUnchanged(inputs) || !statSync(bundle).isFile()) return null;
    return { bundle, codeCache: codeCacheFor(parsed, execArgv) };
  } catch {
    return null;
  }
}

function codeCacheFor(manifest: object, execArgv: readonly string[]): string | null {
  const caches = "codeCaches" in manifest && Array.isArray(manifest.codeCaches) ? (manifest.codeCaches as unknown[]) : [];
  const wanted = JSON.stringify(execArgv);
  for (const entry of caches) {
    if (typeof entry !== "object" || entry === null || !("execArgv" in entry) || !("file" in entry)) continue;
    if (JSON.stringify(entry.execArgv) === wanted && typeof entry.file === "string") return entry.file;
  }
  return null;
}

/**
 * Whether every input a bundle manifest lists (path → mtime when the bundle was made) still has that mtime;
 * throws when one is gone. The host's and the worker's bundles (worker-path.ts) are current only then.
 */
export function inputsUnchanged(inputs: object): boolean {
  for (const [path, mtimeMs] of Object.entries(inputs)) if (statSync(path).mtimeMs !== mtimeMs) return false;
  return true;
}

/** How Node wraps a CommonJS file; the bundle is compiled inside it, as Node would. */
const WRAPPER = ["(function (exports, require, module, __filename, __dirname) {", "\n})"] as const;

/**
 * Runs the CommonJS bundle and returns its exports. Compiled through vm.Script so that V8 can start from
 * the code cache the build made (Node 20 keeps none for user files): compiling the 2.8 MB file was about a
 * quarter of a host's start. A missing, refused or stale cache only means compiling from source
 * (`script.cachedDataRejected`); V8 checks the source's length and its own version and flags.
 */
export function loadHostBundle({ bundle, codeCache }: HostBundle): { exports: unknown; script: Script } {
  // latin1: the bundle is ASCII (esbuild `charset: "ascii"`), and this skips UTF-8 decoding of 2.8 MB.
  const source = WRAPPER[0] + readFileSync(bundle, "latin1") + WRAPPER[1];
  let cachedData: Buffer | undefined;
  if (codeCache) {
    try {
      cachedData = readFileSync(codeCache);
    } catch {
      cachedData = undefined;
    }
  }
  const script = new Script(source, { filename: bundle, cachedData });
  const module = { exports: {} as unknown };
  (script.runInThisContext() as (...args: unknown[]) => void)(module.exports, createRequire(bundle), module, bundle, dirname(bundle));
  return { exports: module.exports, script };
}
