#!/usr/bin/env node
// Part of `pnpm build` (after `tsc -b`): bundles the compiled host CLI (packages/host/dist/cli/run-cli.js
// and everything it imports) into packages/host/dist/run-cli.bundle.cjs with esbuild, and makes V8 code
// caches for it. Node's ESM loader spent ~0.4 s of CPU resolving, reading and linking the ~700 separate
// modules of the host and its dependencies at every `starling` start (`starling --help`: 0.92–1.02 s of
// user CPU unbundled, 0.53–0.60 s as one ES module, docs/PERFORMANCE.md), and compiling that one 2.8 MB
// module was still ~140 ms of it: the service's start, every CLI command, and every host a test starts.
// The bundle is CommonJS so that main.js can compile it through vm.Script from a code cache
// (host-bundle.ts `loadHostBundle`; Node 20 keeps no code cache for user files).
// packages/host/dist/main.js runs the bundle only while it is current: run-cli.bundle.json lists the
// inputs' mtimes (and the bundle's own), so a later `tsc -b` alone falls back to the separate modules (as
// for the worker's bundle).
// Kept out, loaded from where they are installed (resolved to an absolute path now, so the bundle finds
// them exactly as the unbundled host does): classic-level (native addon), pino and its transports (pino
// starts them by module name in a worker thread), jsonc-parser (a UMD file that require()s its siblings).
import { execFileSync } from "node:child_process";
import { readFileSync, renameSync, rmSync, statSync, writeFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { build } from "esbuild";
import { keepImportMetaUrl, NODE_ESM_BUNDLE } from "./esbuild-node.mjs";

const root = resolve(dirname(fileURLToPath(import.meta.url)), "..");
const entry = join(root, "packages/host/dist/cli/run-cli.js");
const outfile = join(root, "packages/host/dist/run-cli.bundle.cjs");
/** What earlier builds wrote (the ES module bundle): removed, so nothing runs it by mistake. */
const OLD_OUTFILE = join(root, "packages/host/dist/run-cli.bundle.js");
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

// V8 checks a code cache against its source only by length: the caches of the bundle being replaced go first.
for (const { file } of previousCaches()) rmSync(file, { force: true });
rmSync(OLD_OUTFILE, { force: true });

const { banner, format, ...cjsOptions } = NODE_ESM_BUNDLE;
const result = await build({
  entryPoints: [entry],
  outfile: `${outfile}.tmp`,
  ...cjsOptions,
  format: "cjs",
  write: false,
  plugins: [plugin],
});

// esbuild keeps `import()` of Node's built-ins in a CommonJS file, and a script compiled by vm.Script has no
// dynamic import (Node 20 before 20.12 offers none): each becomes a require, the same module's exports.
const text = result.outputFiles[0].text.replace(/\bimport\(("node:[a-z_/]+")\)/g, "Promise.resolve().then(() => require($1))");
const dynamic = text.match(/\bimport\([^)]{0,60}/g);
if (dynamic) throw new Error(`bundle-host: a dynamic import the CommonJS bundle cannot do: ${dynamic.join(", ")}`);
writeFileSync(`${outfile}.tmp`, text);
renameSync(`${outfile}.tmp`, outfile);

const inputs = {};
for (const input of Object.keys(result.metafile.inputs)) inputs[resolve(root, input)] = statSync(resolve(root, input)).mtimeMs;
for (const file of kept) inputs[file] ??= statSync(file).mtimeMs;
inputs[outfile] = statSync(outfile).mtimeMs;

/**
 * V8 flag sets the host is started with: none (`node packages/host/dist/main.js`, as the tests do) and
 * HOST_NODE_FLAGS (the systemd unit, `pnpm start`, main.js's `#!` line). V8 refuses a cache made under other
 * flags, so there is one for each; any other set compiles from source.
 */
const { HOST_NODE_FLAGS } = await import(pathToFileURL(join(root, "packages/host/dist/worker-path.js")).href);
const codeCaches = [];
for (const [i, flags] of [[], [...HOST_NODE_FLAGS]].entries()) {
  const file = `${outfile}.${i}.cache`;
  const make = `const { loadHostBundle } = await import(${JSON.stringify(pathToFileURL(join(root, "packages/host/dist/host-bundle.js")).href)});
const { script } = loadHostBundle({ bundle: ${JSON.stringify(outfile)}, codeCache: null });
(await import("node:fs")).writeFileSync(process.argv[1], script.createCachedData());`;
  try {
    execFileSync(process.execPath, [...flags, "--input-type=module", "-e", make, `${file}.${process.pid}.tmp`], { stdio: ["ignore", "ignore", "pipe"] });
    renameSync(`${file}.${process.pid}.tmp`, file);
    codeCaches.push({ execArgv: flags, file });
  } catch (err) {
    rmSync(`${file}.${process.pid}.tmp`, { force: true });
    console.warn(`bundle-host: no code cache for node ${flags.join(" ")} (the host compiles its bundle at start): ${err instanceof Error ? err.message : String(err)}`);
  }
}
writeFileSync(manifest, `${JSON.stringify({ bundle: outfile, inputs, codeCaches })}\n`);

/** The caches the current manifest lists (none when there is none). */
function previousCaches() {
  try {
    const parsed = JSON.parse(readFileSync(manifest, "utf8"));
    return Array.isArray(parsed.codeCaches) ? parsed.codeCaches.filter((c) => typeof c?.file === "string") : [];
  } catch {
    return [];
  }
}
