#!/usr/bin/env node
// Part of `pnpm build` (after `tsc -b`): bundles the compiled host CLI (packages/host/dist/cli/run-cli.js
// and everything it imports) into packages/host/dist/run-cli.bundle.js with esbuild. Node's ESM loader
// spent ~0.4 s of CPU resolving, reading and linking the ~700 separate modules of the host and its
// dependencies at every `starling` start (`starling --help`: 0.92–1.02 s of user CPU unbundled, 0.53–0.60 s
// bundled, docs/PERFORMANCE.md): the service's start, every CLI command, and every host a test starts.
// packages/host/dist/main.js runs the bundle only while it is current: run-cli.bundle.json lists the
// inputs' mtimes, so a later `tsc -b` alone falls back to the separate modules (as for the worker's bundle).
// Kept out, loaded from where they are installed (resolved to an absolute path now, so the bundle finds
// them exactly as the unbundled host does): classic-level (native addon), pino and its transports (pino
// starts them by module name in a worker thread), jsonc-parser (a UMD file that require()s its siblings).
import { statSync, writeFileSync, renameSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { build } from "esbuild";
import { keepImportMetaUrl, NODE_ESM_BUNDLE } from "./esbuild-node.mjs";

const root = resolve(dirname(fileURLToPath(import.meta.url)), "..");
const entry = join(root, "packages/host/dist/cli/run-cli.js");
const outfile = join(root, "packages/host/dist/run-cli.bundle.js");
const manifest = join(root, "packages/host/dist/run-cli.bundle.json");
const KEPT_OUT = /^(classic-level|pino|pino-pretty|thread-stream|jsonc-parser)(\/|$)/;

/** Files loaded from where they are installed: checked like the bundle's inputs. */
const kept = new Set();

const plugin = {
  name: "starling-host-bundle",
  setup(b) {
    b.onResolve({ filter: KEPT_OUT }, async (args) => {
      if (args.pluginData?.inner) return undefined;
      const found = await b.resolve(args.path, { kind: args.kind, resolveDir: args.resolveDir, importer: args.importer, pluginData: { inner: true } });
      if (found.errors.length) return { errors: found.errors };
      kept.add(found.path);
      return { path: found.path, external: true };
    });
    keepImportMetaUrl(b, /[\\/](packages[\\/][^\\/]+|config|workdir-migrations)[\\/]dist[\\/].*\.js$/);
  },
};

const result = await build({
  entryPoints: [entry],
  outfile: `${outfile}.tmp`,
  ...NODE_ESM_BUNDLE,
  plugins: [plugin],
});

const inputs = {};
for (const input of Object.keys(result.metafile.inputs)) inputs[resolve(root, input)] = statSync(resolve(root, input)).mtimeMs;
for (const file of kept) inputs[file] ??= statSync(file).mtimeMs;
renameSync(`${outfile}.tmp`, outfile);
writeFileSync(manifest, `${JSON.stringify({ bundle: outfile, inputs })}\n`);
