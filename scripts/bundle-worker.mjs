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
import { execFileSync } from "node:child_process";
import { readFileSync, renameSync, rmSync, statSync, writeFileSync } from "node:fs";
import { dirname, join, relative, resolve } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { createRequire } from "node:module";
import { build } from "esbuild";
import { buildSnapshotBlob } from "./snapshot-code-cache.mjs";
import { keepImportMetaUrl, NODE_ESM_BUNDLE } from "./esbuild-node.mjs";

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
    keepImportMetaUrl(b, /\/packages\/[^/]+\/dist\/.*\.js$/);
  },
};

/**
 * zod re-exports every one of its ~45 locales (`z.locales`; 305 kB of the bundle's 1.3 MB, a quarter
 * of the source V8 keeps for lazy compilation, and again in the snapshot blob). The worker only uses
 * English, which zod imports and configures itself: the locales namespace keeps only `en`.
 */
const zodEnglishOnly = {
  name: "starling-zod-english-only",
  setup(b) {
    b.onLoad({ filter: /[\\/]zod[\\/]v4[\\/]locales[\\/]index\.js$/, namespace: "file" }, () => ({ contents: 'export { default as en } from "./en.js";\n', loader: "js" }));
  },
};

/**
 * zod's ahead-of-time compiler (`z.compile`, core/compile.js) and `z.fromJSONSchema` (68 kB of the
 * bundle's script, held twice per worker with a snapshot): re-exported by zod's namespaces, used by
 * neither the worker nor the MCP SDK (both are synchronous ESM, so they cannot be loaded on demand).
 * A stand-in keeps their names; calling one throws. A file that imports a name the stand-in does not
 * offer fails the build.
 */
const ZOD_LEFT_OUT = {
  "core/compile.js": `export const INVALID = Symbol.for("zod.compile.invalid");
export class ZodCompileAsyncError extends Error {}
export class ZodCompileUnsupportedError extends Error {}
export function compile() { ${leftOut("z.compile")} }
export function withParser() { ${leftOut("z.withParser")} }
export function compileFn() { ${leftOut("zod's compileFn")} }
`,
  "classic/from-json-schema.js": `export function fromJSONSchema() { ${leftOut("z.fromJSONSchema")} }\n`,
};
function leftOut(name) {
  return `throw new Error(${JSON.stringify(`${name} is left out of Starling's worker bundles (scripts/bundle-worker.mjs, zodLeftOut)`)});`;
}
const zodLeftOut = {
  name: "starling-zod-left-out",
  setup(b) {
    b.onLoad({ filter: /[\\/]zod[\\/]v4[\\/](core[\\/]compile|classic[\\/]from-json-schema)\.js$/, namespace: "file" }, (args) => {
      const key = args.path.replaceAll("\\", "/").replace(/.*\/v4\//, "");
      return { contents: ZOD_LEFT_OUT[key], loader: "js" };
    });
  },
};

/**
 * For the snapshot build only: classic-level loads a native addon, which a snapshot cannot hold. Its
 * JavaScript (and abstract-level's) goes into the snapshot like the rest; only its `./binding` (which
 * asks node-gyp-build to find the addon: directory scans at every start) is replaced by a stand-in
 * that opens the addon found now, at build time, by its path (`process.dlopen`) after deserialisation:
 * in the background once the worker runs, or when a database is opened first.
 */
const snapshotShims = {
  name: "starling-snapshot-shims",
  setup(b) {
    b.onResolve({ filter: /^classic-level$/ }, async (args) => {
      if (args.pluginData?.inner) return undefined;
      const found = await b.resolve(args.path, { kind: args.kind, resolveDir: args.resolveDir, importer: args.importer, pluginData: { inner: true } });
      if (found.errors.length) return { errors: found.errors };
      return { path: found.path };
    });
    b.onResolve({ filter: /^\.\/binding(\.js)?$/ }, (args) => {
      if (!/[\\/]classic-level[\\/][^\\/]+$/.test(args.importer)) return undefined;
      const addon = createRequire(args.importer)("node-gyp-build").path(dirname(args.importer));
      kept.add(addon);
      return { path: addon, namespace: "lazy-native" };
    });
    // Built-in modules whose native state a snapshot cannot hold (Node 20 refuses node:http's parser
    // binding): each is loaded on its first use after start, so a worker that never needs one (https
    // with an http:// model, child_process without a shell tool) never pays for it (~15 ms of CPU for
    // all of them when they were bound at start). Only their functions and classes are exported; an
    // import of another value fails the build, and the default export loads the module when read.
    b.onResolve({ filter: LAZY_BUILTINS }, (args) =>
      args.namespace === "lazy-builtin" ? { path: args.path, external: true } : { path: args.path.replace(/^node:/, ""), namespace: "lazy-builtin" },
    );
    b.onLoad({ filter: /.*/, namespace: "lazy-builtin" }, async (args) => {
      const real = await import(`node:${args.path}`);
      const names = Object.keys(real).filter((n) => n !== "default" && /^[A-Za-z_$][\w$]*$/.test(n) && typeof real[n] === "function");
      lazyExports.set(args.path, names);
      return { loader: "js", contents: lazyBuiltin(args.path, names) };
    });
    // Packages used only by some tools (image token estimates, the web tools' address policy; ~47 kB of
    // script, held twice per worker): required from where they are installed on first use. Only the
    // shapes core imports are offered: image-size's `imageSize` function and ipaddr.js's default object.
    b.onResolve({ filter: LAZY_PACKAGES }, (args) => {
      if (args.namespace === "lazy-package") return undefined;
      // What the stand-in will require at run time, required now: a package whose CommonJS entry lacks the
      // offered shape fails the build here, instead of degrading silently in a worker (image estimates
      // fall back to a default when imageSize throws).
      const real = createRequire(args.importer)(args.path);
      const offered = args.path === "image-size" ? [real.imageSize] : [real.isValid, real.parse, real.IPv4?.isValidFourPartDecimal];
      if (offered.some((f) => typeof f !== "function")) throw new Error(`bundle-worker: ${args.path}'s CommonJS entry does not export what core imports`);
      kept.add(createRequire(args.importer).resolve(args.path));
      return { path: args.path, namespace: "lazy-package", pluginData: { importer: args.importer } };
    });
    b.onLoad({ filter: /.*/, namespace: "lazy-package" }, (args) => ({
      loader: "js",
      contents: `let real;
const load = () => (real ??= require("node:module").createRequire(${JSON.stringify(args.pluginData.importer)})(${JSON.stringify(args.path)}));
${args.path === "image-size" ? "export const imageSize = (...argv) => load().imageSize(...argv);" : "export default new Proxy({}, { get: (_, key) => load()[key], has: (_, key) => key in load() });"}`,
    }));
    b.onLoad({ filter: /.*/, namespace: "lazy-native" }, (args) => ({
      loader: "js",
      contents: `let real;
const load = () => {
  if (!real) {
    const m = { exports: {} };
    process.dlopen(m, ${JSON.stringify(args.path)});
    real = m.exports;
  }
  return real;
};
// Opened in the background right after start (a warm spare then opens its database at once).
require("node:v8").startupSnapshot.addDeserializeCallback(() => setImmediate(() => load()));
module.exports = new Proxy({}, { get: (_, key) => load()[key], has: (_, key) => key in load() });`,
    }));
  },
};

/**
 * The MCP client (core's src/mcp, the MCP SDK, ajv, fast-uri: ~360 kB of source) is loaded only by a
 * session with MCP servers (session.ts imports mcp-tools.js lazily). Inside the worker's bundles its
 * source would sit unused in every worker's memory, twice with a snapshot (the blob and the heap's copy
 * of the script), so it is a bundle of its own, packages/worker/dist/mcp.bundle.cjs, required from disk
 * when such a session opens. The modules it shares with the worker (protocol's and core's other files,
 * zod) are not copied into it: the worker hands over its own instances (one ToolError class, one zod),
 * through a registry the stub below fills before it requires the file.
 */
const MCP_ENTRY = join(root, "packages/core/dist/mcp/mcp-tools.js");
const MCP_OUTFILE = join(root, "packages/worker/dist/mcp.bundle.cjs");
const MCP_SHARED = "Symbol.for(\"starling.mcp.shared\")";
/**
 * zod's classic entry (`zod`, `zod/v4`) is handed over as its `z` namespace, which the worker already
 * holds; `import * as` of the entry itself would add a namespace object of ~260 getters to every
 * worker's heap. zod mini (only the MCP SDK uses it) goes into mcp.bundle.cjs over the shared zod core.
 */
const isZodClassicEntry = (path) => /[\\/]node_modules[\\/]zod[\\/](v4[\\/])?index\.js$/.test(path);
const isShared = (path) =>
  (/[\\/]packages[\\/](core|protocol)[\\/]dist[\\/]/.test(path) && !path.startsWith(dirname(MCP_ENTRY))) ||
  isZodClassicEntry(path) ||
  /[\\/]node_modules[\\/]zod[\\/]v4[\\/](core|locales)[\\/]/.test(path);
/** Files the MCP bundle takes from the worker: absolute path → key in the registry. */
const mcpShared = new Map();

async function buildMcpBundle() {
  const result = await build({
    entryPoints: [MCP_ENTRY],
    outfile: MCP_OUTFILE,
    bundle: true,
    platform: "node",
    format: "cjs",
    target: "node20",
    plugins: [
      zodEnglishOnly,
      {
        name: "starling-mcp-shared",
        setup(b) {
          b.onResolve({ filter: /.*/ }, async (args) => {
            if (args.pluginData?.inner || args.namespace === "mcp-shared") return undefined;
            const found = await b.resolve(args.path, { kind: args.kind, resolveDir: args.resolveDir, importer: args.importer, pluginData: { inner: true } });
            if (found.errors.length || !isShared(found.path)) return undefined;
            const key = relative(root, found.path);
            mcpShared.set(found.path, key);
            return { path: key, namespace: "mcp-shared" };
          });
          b.onLoad({ filter: /.*/, namespace: "mcp-shared" }, (args) => ({
            loader: "js",
            contents: `const shared = globalThis[${MCP_SHARED}];
if (!shared) throw new Error("mcp.bundle.cjs is loaded by the worker's bundle only");
const value = shared[${JSON.stringify(args.path)}];
module.exports = ${isZodClassicEntry(args.path) ? "{ ...value, z: value, default: value }" : "value"};`,
          }));
        },
      },
      externals,
    ],
    metafile: true,
    logLevel: "warning",
    legalComments: "none",
    charset: "ascii",
    minifyWhitespace: true,
  });
  for (const input of Object.keys(result.metafile.inputs)) {
    if (!input.includes(":")) kept.add(resolve(root, input)); // not "mcp-shared:…"
  }
  kept.add(MCP_OUTFILE);
  return Object.keys(await import(pathToFileURL(MCP_ENTRY).href)).filter((name) => name !== "default");
}

/**
 * mcp.bundle.cjs is compiled as Node compiles a CommonJS file, inside this wrapper, but through
 * vm.Script with a V8 code cache (mcp.bundle.cjs.cache) made here under the worker's V8 flags: Node
 * 20's loader keeps no code cache for user files, and compiling the 370 kB cost an MCP session's
 * `initialize` ~17-21 ms of CPU (~3 with the cache). V8 checks the cache against the source and the
 * flags; a stale or missing one only means compiling from source.
 */
const MCP_WRAPPER = ["(function (exports, require, module, __filename, __dirname) {", "\n})"];
const MCP_CACHE = `${MCP_OUTFILE}.cache`;

function writeMcpCodeCache(nodeFlags) {
  const make = `const fs = require("node:fs");
const source = ${JSON.stringify(MCP_WRAPPER[0])} + fs.readFileSync(${JSON.stringify(MCP_OUTFILE)}, "utf8") + ${JSON.stringify(MCP_WRAPPER[1])};
fs.writeFileSync(process.argv[1], new (require("node:vm").Script)(source, { filename: ${JSON.stringify(MCP_OUTFILE)} }).createCachedData());`;
  try {
    execFileSync(process.execPath, [...nodeFlags, "-e", make, `${MCP_CACHE}.${process.pid}.tmp`], { stdio: ["ignore", "ignore", "pipe"] });
    renameSync(`${MCP_CACHE}.${process.pid}.tmp`, MCP_CACHE);
  } catch (err) {
    console.warn(`bundle-worker: no code cache for mcp.bundle.cjs (MCP sessions compile it at start): ${err instanceof Error ? err.message : String(err)}`);
    rmSync(`${MCP_CACHE}.${process.pid}.tmp`, { force: true });
    rmSync(MCP_CACHE, { force: true });
  }
}

/**
 * In the worker's bundles, core's lazy import of mcp-tools.js loads mcp.bundle.cjs instead: this stub
 * registers the shared modules, then loads the file and re-exports what mcp-tools.js exports.
 */
const mcpStub = (exported) => ({
  name: "starling-mcp-stub",
  setup(b) {
    b.onResolve({ filter: /[\\/]mcp-tools\.js$/ }, (args) => {
      if (args.kind !== "dynamic-import") return undefined;
      if (resolve(args.resolveDir, args.path) !== MCP_ENTRY) return undefined;
      return { path: MCP_ENTRY, namespace: "mcp-stub" };
    });
    b.onLoad({ filter: /.*/, namespace: "mcp-stub" }, () => {
      const files = [...mcpShared.keys()];
      return {
        loader: "js",
        resolveDir: root,
        contents: `${files.map((file, i) => (isZodClassicEntry(file) ? `import { z as shared${i} } from ${JSON.stringify(file)};` : `import * as shared${i} from ${JSON.stringify(file)};`)).join("\n")}
import { createRequire } from "node:module";
import { readFileSync } from "node:fs";
import { Script, constants } from "node:vm";
globalThis[${MCP_SHARED}] ??= { ${files.map((file, i) => `${JSON.stringify(mcpShared.get(file))}: shared${i}`).join(", ")} };
const file = ${JSON.stringify(MCP_OUTFILE)};
let cachedData;
try {
  cachedData = readFileSync(${JSON.stringify(MCP_CACHE)});
} catch {
  // no cache: compiled from source
}
const source = ${JSON.stringify(MCP_WRAPPER[0])} + readFileSync(file, "utf8") + ${JSON.stringify(MCP_WRAPPER[1])};
const script = new Script(source, { filename: file, cachedData, importModuleDynamically: constants?.USE_MAIN_CONTEXT_DEFAULT_LOADER });
const mcp = { exports: {} };
script.runInThisContext().call(mcp.exports, mcp.exports, createRequire(file), mcp, file, ${JSON.stringify(dirname(MCP_OUTFILE))});
${exported.map((name) => `export const ${name} = mcp.exports.${name};`).join("\n")}
`,
      };
    });
  },
});

/**
 * Packages only the build's warm-up uses: memory-level, the warm-up turns' in-memory database, with its red-black
 * tree (~23 kB of script, which every worker held twice: in the blob and as the heap's source string). Each is
 * bundled apart, as dist/<name>.build-only.cjs, which its stand-in in the snapshot script loads while the snapshot
 * is built and drops before the heap is written. What it imports from outside its own files (abstract-level,
 * module-error) is the worker's instance, handed over, so the warm-up runs the abstract-level code workers run.
 * Only functions and classes can be exported; a worker started from the blob that touches one fails loudly.
 */
const BUILD_ONLY = [
  {
    name: "warmup-level",
    request: /^memory-level$/,
    entry: createRequire(join(root, "packages/worker/package.json")).resolve("memory-level"),
    own: /[\\/]node_modules[\\/](memory-level|functional-red-black-tree)[\\/]/,
  },
].map((mod) => ({ ...mod, outfile: join(root, `packages/worker/dist/${mod.name}.build-only.cjs`) }));

/** Whether Node loads `file` as CommonJS (its package.json has no `"type": "module"`). */
function isCommonJs(file) {
  if (file.endsWith(".cjs")) return true;
  if (file.endsWith(".mjs")) return false;
  for (let dir = dirname(file); dir !== dirname(dir); dir = dirname(dir)) {
    let text;
    try {
      text = readFileSync(join(dir, "package.json"), "utf8");
    } catch {
      continue;
    }
    return JSON.parse(text).type !== "module";
  }
  return true;
}

/** Bundles one build-only package; returns it with its exports (name → "function" | "class"), the files it takes from the worker and its own. */
async function buildBuildOnly(mod) {
  const shared = new Map();
  const result = await build({
    entryPoints: [mod.entry],
    outfile: mod.outfile,
    bundle: true,
    platform: "node",
    format: "cjs",
    target: "node20",
    plugins: [
      {
        name: "starling-build-only-shared",
        setup(b) {
          b.onResolve({ filter: /.*/ }, async (args) => {
            if (args.pluginData?.inner) return undefined;
            const found = await b.resolve(args.path, { kind: args.kind, resolveDir: args.resolveDir, importer: args.importer, pluginData: { inner: true } });
            if (found.errors.length || found.external || mod.own.test(found.path)) return undefined;
            shared.set(found.path, `starling-shared:${relative(root, found.path)}`);
            return { path: shared.get(found.path), external: true };
          });
        },
      },
    ],
    metafile: true,
    logLevel: "warning",
    legalComments: "none",
    charset: "ascii",
    minifyWhitespace: true,
  });
  const exported = {};
  for (const [name, value] of Object.entries(createRequire(mod.entry)(mod.entry))) {
    if (typeof value !== "function") throw new Error(`bundle-worker: build-only ${mod.name} exports ${name}, neither a function nor a class`);
    exported[name] = /^class\b/.test(Function.prototype.toString.call(value)) ? "class" : "function";
  }
  return { ...mod, exported, shared, ownFiles: Object.keys(result.metafile.inputs).map((input) => resolve(root, input)) };
}

/** The snapshot script's stand-in for a build-only package: loads it on first use while the snapshot is built, forgets it before the heap is written. */
function buildOnlyStub(mod) {
  const files = [...mod.shared.keys()];
  const imports = files.map((file, i) => `import ${isCommonJs(file) ? "" : "* as "}shared${i} from ${JSON.stringify(file)};`);
  const exports = Object.entries(mod.exported).map(([name, kind]) =>
    kind === "function"
      ? `export function ${name}(...argv) { return load().${name}.apply(this, argv); }`
      : `export const ${name} = new Proxy(function () {}, {
  construct(_, argv, newTarget) { const real = load().${name}; return Reflect.construct(real, argv, newTarget === ${name} ? real : newTarget); },
  apply: (_, self, argv) => Reflect.apply(load().${name}, self, argv),
  get: (_, key) => Reflect.get(load().${name}, key),
});`,
  );
  return `${imports.join("\n")}
import { readFileSync } from "node:fs";
import { Script } from "node:vm";
import { startupSnapshot } from "node:v8";
let real;
let live = false;
startupSnapshot.addSerializeCallback(() => { real = undefined; });
startupSnapshot.addDeserializeCallback(() => { live = true; });
function load() {
  if (real) return real;
  if (live) throw new Error(${JSON.stringify(`${mod.name}.build-only.cjs is for the worker's snapshot build only`)});
  const shared = { ${files.map((file, i) => `${JSON.stringify(mod.shared.get(file))}: shared${i}`).join(", ")} };
  const file = ${JSON.stringify(mod.outfile)};
  const m = { exports: {} };
  const script = new Script(${JSON.stringify(MCP_WRAPPER[0])} + readFileSync(file, "utf8") + ${JSON.stringify(MCP_WRAPPER[1])}, { filename: file });
  script.runInThisContext().call(m.exports, m.exports, (id) => (Object.hasOwn(shared, id) ? shared[id] : require(id)), m, file, ${JSON.stringify(dirname(mod.outfile))});
  return (real = m.exports);
}
${exports.join("\n")}
`;
}

/** In the snapshot build, an import of a build-only package gets its stand-in. */
const buildOnlyStubs = (mods) => ({
  name: "starling-build-only",
  setup(b) {
    for (const mod of mods) {
      b.onResolve({ filter: mod.request }, async (args) => {
        if (args.pluginData?.inner) return undefined;
        const found = await b.resolve(args.path, { kind: args.kind, resolveDir: args.resolveDir, importer: args.importer, pluginData: { inner: true } });
        if (found.errors.length || found.path !== mod.entry) return undefined;
        return { path: mod.name, namespace: "build-only" };
      });
    }
    b.onLoad({ filter: /.*/, namespace: "build-only" }, (args) => ({ loader: "js", resolveDir: root, contents: buildOnlyStub(mods.find((mod) => mod.name === args.path)) }));
  },
});

const LAZY_PACKAGES = /^(image-size|ipaddr\.js)$/;
const LAZY_BUILTINS = /^(node:)?(http|https|http2|net|tls|dgram|child_process|readline|inspector)$/;
/** The functions and classes each late-bound built-in exports in the snapshot bundle. */
const lazyExports = new Map();

/**
 * A late-bound built-in's stand-in module. Each export is a proxy of the real function or class: a
 * call, `new` or property read loads the module (at most once) and rebinds every export to the
 * real one, so later references skip the proxy. A class instantiated while the snapshot is built (none
 * today) gets an instance that is created for real on first use.
 */
function lazyBuiltin(name, names) {
  return `let builtin;
let live = false;
const load = () => {
  if (!builtin) {
    if (!live) throw new Error("node:${name} used while the worker's start-up snapshot is built");
    builtin = require("node:${name}");
    ({ ${names.join(", ")} } = builtin);
  }
  return builtin;
};
const deferred = (name) => {
  const stand = new Proxy(function () {}, {
    construct(_, argv, newTarget) {
      if (live) return Reflect.construct(load()[name], argv, newTarget === stand ? load()[name] : newTarget);
      let instance;
      const make = () => (instance ??= Reflect.construct(load()[name], argv));
      return new Proxy({}, {
        get: (_, key) => { const value = Reflect.get(make(), key); return typeof value === "function" ? value.bind(make()) : value; },
        set: (_, key, value) => Reflect.set(make(), key, value),
        has: (_, key) => Reflect.has(make(), key),
      });
    },
    apply: (_, self, argv) => Reflect.apply(load()[name], self, argv),
    get: (target, key) => (live ? Reflect.get(load()[name], key) : Reflect.get(target, key)),
  });
  return stand;
};
export let ${names.map((n) => `${n} = deferred("${n}")`).join(", ")};
const namespace = new Proxy({}, { get: (_, key) => Reflect.get(load(), key), has: (_, key) => Reflect.has(load(), key) });
export { namespace as default };
require("node:v8").startupSnapshot.addDeserializeCallback(() => {
  live = true;
});`;
}

/**
 * Prepended to the snapshot script. While the snapshot is built:
 * - crypto's random UUIDs are refused: Node would keep their pre-generated pool in the blob and
 *   every worker would then hand out the same "random" ids (Math.random is reseeded on start; that
 *   pool is not);
 * - Node 20's snapshot builder runs without V8's "change array by copy" methods (node:http itself
 *   calls toSorted at load); they are lent for the build and removed before serialisation (a worker
 *   started from the blob has V8's own).
 */
const SNAPSHOT_PRELUDE = (importer) => `"use strict";
var __starlingImporter;
function __starlingImport(specifier) {
  __starlingImporter ??= require("node:module").createRequire(${JSON.stringify(importer)})(${JSON.stringify(importer)});
  return __starlingImporter(specifier);
}
{
  const crypto = require("node:crypto");
  const saved = [crypto, crypto.webcrypto].map((o) => [o, o.randomUUID]);
  for (const [o] of saved) o.randomUUID = () => { throw new Error("randomUUID while building the worker's start-up snapshot"); };
  const lent = {
    toSorted(compare) { return this.slice().sort(compare); },
    toReversed() { return this.slice().reverse(); },
    toSpliced(...args) { const copy = this.slice(); copy.splice(...args); return copy; },
    with(index, value) { const copy = this.slice(); copy[index < 0 ? index + copy.length : index] = value; return copy; },
  };
  const missing = Object.keys(lent).filter((name) => !(name in Array.prototype));
  for (const name of missing) Object.defineProperty(Array.prototype, name, { value: lent[name], writable: true, configurable: true });
  require("node:v8").startupSnapshot.addSerializeCallback(() => {
    for (const [o, f] of saved) o.randomUUID = f;
    for (const name of missing) delete Array.prototype[name];
    // For the build's code cache trim (scripts/snapshot-code-cache.mjs): the built-ins now in the heap.
    const builtinsOut = process.env.STARLING_SNAPSHOT_BUILTINS_OUT;
    if (builtinsOut) require("node:fs").writeFileSync(builtinsOut, JSON.stringify(process.moduleLoadList.filter((m) => m.startsWith("NativeModule ")).map((m) => m.slice(13))));
  });
}
`;

const mcpExports = await buildMcpBundle();
const result = await build({
  entryPoints: [entry],
  outfile,
  ...NODE_ESM_BUNDLE,
  plugins: [zodEnglishOnly, zodLeftOut, mcpStub(mcpExports), externals],
});

const inputs = {};
for (const path of [...Object.keys(result.metafile.inputs).filter((input) => !input.includes(":")).map((input) => resolve(root, input)), ...kept]) {
  inputs[path] = statSync(path).mtimeMs;
}
/**
 * V8 flags every worker runs with (the host reads them from the manifest; a snapshot blob only starts
 * under the flags it was built with). `--max-semi-space-size=1` (MB): V8 otherwise grows the young
 * generation to 8 MB of resident pages while the worker loads, of which ~2 MB stay in use; idle
 * RssAnon 27 -> 22 MB (bundle). `--always-sparkplug` is no start flag any more: the worker turns it on
 * once its session is open (packages/worker/src/tiering.ts), so start-up code gets no baseline code.
 */
const WORKER_NODE_FLAGS = ["--max-semi-space-size=1"];
writeMcpCodeCache(WORKER_NODE_FLAGS);
const snapshot = await buildSnapshot(inputs);
writeFileSync(join(root, "packages/worker/dist/main.bundle.json"), JSON.stringify({ bundle: outfile, inputs, snapshot, nodeFlags: WORKER_NODE_FLAGS }) + "\n");

/**
 * The start-up snapshot (docs: packages/worker/README.md): packages/worker/dist/snapshot.js bundled
 * as one CommonJS script (what `node --build-snapshot` accepts), then run once by this Node to write
 * worker.blob. Node refuses a blob from another build, so the manifest records version and arch; the
 * host uses the blob only when they match (else the ES module bundle above). Returns null, with a
 * warning, when the snapshot cannot be built: the bundle alone still works.
 */
function writeThenRename(file, text) {
  writeFileSync(`${file}.${process.pid}.tmp`, text);
  renameSync(`${file}.${process.pid}.tmp`, file);
}

async function buildSnapshot(inputs) {
  const dist = join(root, "packages/worker/dist");
  const script = join(dist, "snapshot.bundle.cjs");
  const blob = join(dist, "worker.blob");
  const importer = join(dist, "snapshot-import.cjs");
  try {
    const buildOnly = await Promise.all(BUILD_ONLY.map(buildBuildOnly));
    const snap = await build({
      entryPoints: [join(dist, "snapshot.js")],
      outfile: script,
      bundle: true,
      platform: "node",
      format: "cjs",
      target: "node20",
      plugins: [zodEnglishOnly, zodLeftOut, mcpStub(mcpExports), buildOnlyStubs(buildOnly), snapshotShims, externals],
      metafile: true,
      logLevel: "error",
      // A late-bound built-in's value read through its namespace (`m.STATUS_CODES`) would be undefined.
      logOverride: { "import-is-undefined": "error" },
      legalComments: "none",
      charset: "ascii",
      minifyWhitespace: true,
      write: false,
    });
    // A snapshot's own code has no dynamic import (V8: "A dynamic import callback was not specified"):
    // every import() of an installed module goes through snapshot-import.cjs, a file Node loads
    // normally after deserialisation. The externals plugin made each such specifier an absolute path.
    // A build-only package's own file also in the script (imported from elsewhere) would stay in every worker.
    const inScript = new Set(Object.keys(snap.metafile.inputs).map((input) => resolve(root, input)));
    const both = buildOnly.flatMap((mod) => mod.ownFiles.filter((file) => inScript.has(file)).map((file) => relative(root, file)));
    if (both.length) throw new Error(`build-only files also imported by the worker: ${both.join(", ")}`);
    const text = snap.outputFiles[0].text.replace(/\bimport\((?=")/g, "__starlingImport(");
    // A name destructured from a late-bound built-in's namespace (CommonJS code) must be one of its exports.
    for (const m of text.matchAll(/var ?\{([^}]*)\} ?= ?\(init_(\w+?)\d*\(\), ?__toCommonJS\(\2_exports/g)) {
      const exported = lazyExports.get(m[2]);
      if (!exported) continue;
      const names = m[1].split(",").map((part) => part.split(":")[0].trim());
      const bad = names.filter((name) => !exported.includes(name));
      if (bad.length) throw new Error(`module code reads ${bad.join(", ")} of node:${m[2]}, which the snapshot binds only on first use`);
    }
    // Each file written beside under this build's own name and renamed: two builds at once (a shared dev
    // checkout) each read a whole script, never one half-written by the other.
    writeThenRename(script, SNAPSHOT_PRELUDE(importer) + text);
    writeThenRename(importer, "// Loaded by the worker's start-up snapshot: dynamic import() from a file Node compiled itself.\nmodule.exports = (specifier) => import(specifier);\n");
    for (const input of Object.keys(snap.metafile.inputs)) {
      if (!input.includes(":")) inputs[resolve(root, input)] ??= statSync(resolve(root, input)).mtimeMs; // not "lazy-native:…"
    }
    // Quiet unless it fails: Node warns about every built-in it has not verified for snapshots.
    try {
      // Written beside and renamed: a worker starting during a rebuild reads the old blob or the new one, never half of one.
      buildSnapshotBlob({ script, blob: `${blob}.${process.pid}.tmp`, nodeFlags: WORKER_NODE_FLAGS, cwd: dist });
      renameSync(`${blob}.${process.pid}.tmp`, blob);
    } catch (err) {
      throw new Error(`node --build-snapshot failed: ${String(err.stderr ?? err.message).trim().split("\n").slice(-12).join("\n")}`);
    }
    for (const file of [script, importer, blob, ...kept, ...buildOnly.flatMap((mod) => [mod.outfile, ...mod.ownFiles])]) inputs[file] ??= statSync(file).mtimeMs;
    return { blob, node: process.version, arch: process.arch };
  } catch (err) {
    console.warn(`bundle-worker: no start-up snapshot (the host starts the bundle instead): ${err instanceof Error ? err.message : String(err)}`);
    rmSync(blob, { force: true });
    rmSync(`${blob}.${process.pid}.tmp`, { force: true });
    return null;
  }
}
