#!/usr/bin/env node
// Part of `pnpm build` (after `tsc -b`): bundles the compiled worker (packages/worker/dist/main.js and
// everything it imports up front) into packages/worker/dist/main.bundle.js with esbuild. One file
// loads ~45 ms faster than ~270 separate modules through Node's ESM loader (docs/PERFORMANCE.md).
// Kept out of the bundle and loaded from where they are installed (an absolute path, so the bundle
// resolves them exactly as the unbundled worker does): classic-level (native addon) and every module
// the code imports lazily (`import()`: jsdiff, picomatch, sharp, unpdf, …), so they still cost nothing
// at start. `import.meta.url` keeps each source file's own URL (core resolves gpt-tokenizer with it).
// main.bundle.json lists the inputs' mtimes: the host uses the bundle only while none is newer
// (packages/host/src/worker-path.ts), so a later `tsc -b` alone falls back to dist/main.js.
import { statSync, writeFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { readFile } from "node:fs/promises";
import { build } from "esbuild";

const root = resolve(dirname(fileURLToPath(import.meta.url)), "..");
const entry = join(root, "packages/worker/dist/main.js");
const outfile = join(root, "packages/worker/dist/main.bundle.js");

/** Files the bundle loads from where they are installed (checked like its inputs). */
const kept = new Set();

/** Resolves a kept-out import to its installed file, so the bundle loads it from there. */
const externals = {
  name: "starling-externals",
  setup(b) {
    b.onResolve({ filter: /.*/ }, async (args) => {
      if (args.pluginData?.inner) return undefined;
      const lazy = args.kind === "dynamic-import";
      if (!lazy && !/^classic-level(\/|$)/.test(args.path)) return undefined;
      const found = await b.resolve(args.path, { kind: args.kind, resolveDir: args.resolveDir, importer: args.importer, pluginData: { inner: true } });
      if (found.errors.length) return { errors: found.errors };
      // A relative dynamic import inside our own code (none today) would stay in the bundle.
      if (!found.path.includes("node_modules")) return undefined;
      kept.add(found.path);
      return { path: found.path, external: true };
    });
    // import.meta.url: the source file's own URL, not the bundle's.
    b.onLoad({ filter: /\/packages\/[^/]+\/dist\/.*\.js$/ }, async (args) => {
      const text = await readFile(args.path, "utf8");
      if (!text.includes("import.meta.url")) return undefined;
      return { contents: text.replaceAll("import.meta.url", JSON.stringify(pathToFileURL(args.path).href)), loader: "js" };
    });
  },
};

const result = await build({
  entryPoints: [entry],
  outfile,
  bundle: true,
  platform: "node",
  format: "esm",
  target: "node20",
  plugins: [externals],
  // CommonJS dependencies inside an ES module bundle still call require() for Node built-ins.
  banner: { js: 'import { createRequire as __starlingRequire } from "node:module"; const require = __starlingRequire(import.meta.url);' },
  metafile: true,
  logLevel: "warning",
  legalComments: "none",
});

const inputs = {};
for (const path of [...Object.keys(result.metafile.inputs).map((input) => resolve(root, input)), ...kept]) {
  inputs[path] = statSync(path).mtimeMs;
}
writeFileSync(join(root, "packages/worker/dist/main.bundle.json"), JSON.stringify({ bundle: outfile, inputs }) + "\n");
