#!/usr/bin/env node
// `pnpm package`: bundles the built workspace (run `pnpm build` first) into one npm package with the
// `starling` and `starling-worker` bins and writes dist/starling-<version>.tgz.
//   npm i -g ./dist/starling-<version>.tgz
// esbuild puts protocol/core/worker/host/config/workdir-migrations and their pure-JS dependencies into
// two files. Kept as real npm dependencies: classic-level (native, built or fetched at install time)
// pino/pino-pretty (pino starts its transports by module name in a worker thread, which a bundle
// cannot serve) and jsonc-parser (UMD); all but classic-level are pure JavaScript.
import { execFileSync } from "node:child_process";
import { cpSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { build } from "esbuild";

const root = resolve(dirname(fileURLToPath(import.meta.url)), "..");
const version = readFileSync(join(root, "VERSION"), "utf8").split("\n")[0].trim();
const outDir = join(root, "dist");
const stage = join(outDir, "package");
// sharp (image resizing in core) is native with prebuilt binaries; optional, so an install never fails on it.
const OPTIONAL = ["sharp"];
// jsonc-parser: its "main" is a UMD file that require()s siblings at run time, which a bundle breaks.
const EXTERNAL = ["classic-level", "pino", "pino-pretty", "sharp", "jsonc-parser"];

const entries = {
  starling: join(root, "packages/host/dist/main.js"),
  "starling-worker": join(root, "packages/worker/dist/main.js"),
};

rmSync(stage, { recursive: true, force: true });
mkdirSync(join(stage, "dist"), { recursive: true });

const result = await build({
  entryPoints: entries,
  outdir: join(stage, "dist"),
  bundle: true,
  platform: "node",
  format: "esm",
  target: "node20",
  external: EXTERNAL,
  define: { STARLING_BUNDLE_VERSION: JSON.stringify(version) },
  // CommonJS dependencies inside an ES module bundle still call require() for Node built-ins.
  banner: { js: 'import { createRequire as __starlingRequire } from "node:module"; const require = __starlingRequire(import.meta.url);' },
  metafile: true,
  logLevel: "warning",
  legalComments: "none",
});

// The package depends on exactly the externals the bundle imports, at the versions installed here.
const used = new Set();
for (const output of Object.values(result.metafile.outputs)) {
  for (const imp of output.imports) {
    if (!imp.external) continue;
    const name = EXTERNAL.find((e) => imp.path === e || imp.path.startsWith(`${e}/`));
    if (name) used.add(name);
  }
}
// pino loads pino-pretty by name (logger.ts transport target), which no import shows.
used.add("pino-pretty");
const dependencies = {};
const optionalDependencies = {};
for (const name of [...used].sort()) {
  // pnpm keeps every installed package under node_modules/.pnpm/<name>@<version>/ (newest wins).
  const prefix = `${name.replace("/", "+")}@`;
  const versions = readdirSync(join(root, "node_modules/.pnpm"))
    .filter((d) => d.startsWith(prefix))
    .map((d) => JSON.parse(readFileSync(join(root, "node_modules/.pnpm", d, "node_modules", name, "package.json"), "utf8")).version)
    .sort((a, b) => a.localeCompare(b, "en", { numeric: true }));
  const found = versions.pop();
  if (!found) throw new Error(`package: cannot find the installed version of ${name}`);
  (OPTIONAL.includes(name) ? optionalDependencies : dependencies)[name] = `^${found}`;
}

// The web channel's page (routes-page.ts reads dist/web/ in the bundle): its own files and the two browser
// libraries it imports, which the bundle cannot resolve from node_modules at run time.
const hostRequire = createRequire(join(root, "packages/host/package.json"));
cpSync(join(root, "packages/host/web"), join(stage, "dist/web"), { recursive: true });
cpSync(hostRequire.resolve("marked"), join(stage, "dist/web/marked.esm.js"));
cpSync(hostRequire.resolve("dompurify").replace(/purify\.cjs\.js$/, "purify.es.mjs"), join(stage, "dist/web/purify.es.mjs"));
cpSync(join(root, "config/systemd"), join(stage, "systemd"), { recursive: true });
cpSync(join(root, "config/schema"), join(stage, "schema"), { recursive: true });
for (const file of ["README.md", "VERSION", "example_config.json"]) cpSync(join(root, file), join(stage, file));

const manifest = {
  name: "starling",
  version,
  description: "Self-hosted agent server: chat channels, durable per-session workers over JSON-RPC",
  type: "module",
  bin: { starling: "dist/starling.js", "starling-worker": "dist/starling-worker.js" },
  files: ["dist", "systemd", "schema", "README.md", "VERSION", "example_config.json"],
  engines: { node: ">=20" },
  dependencies,
  ...(Object.keys(optionalDependencies).length ? { optionalDependencies } : {}),
};
writeFileSync(join(stage, "package.json"), JSON.stringify(manifest, null, 2) + "\n");

const packed = execFileSync("npm", ["pack", "--pack-destination", outDir, "--silent"], { cwd: stage, encoding: "utf8" }).trim();
const tarball = join(outDir, packed.split("\n").pop());
process.stdout.write(`${tarball}\n`);
