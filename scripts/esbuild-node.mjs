// What scripts/bundle-worker.mjs and scripts/bundle-host.mjs share: esbuild options for one ES module file
// that Node runs, and the plugin step that keeps `import.meta.url` pointing at each source file.
import { readFile } from "node:fs/promises";
import { pathToFileURL } from "node:url";

/** Options for a Node ES module bundle (add entryPoints, outfile, plugins). */
export const NODE_ESM_BUNDLE = {
  bundle: true,
  platform: "node",
  format: "esm",
  target: "node20",
  // CommonJS dependencies inside an ES module bundle still call require() for Node built-ins.
  banner: { js: 'import { createRequire as __starlingRequire } from "node:module"; const require = __starlingRequire(import.meta.url);' },
  metafile: true,
  logLevel: "warning",
  legalComments: "none",
  // V8 keeps a script's source for lazy compilation, as a two-byte string if one character is not
  // Latin-1 (4.4 MB for the worker's bundle, with comments); ASCII without comments or indentation is 1.6 MB.
  charset: "ascii",
  minifyWhitespace: true,
};

/**
 * An onLoad step for our compiled files matching `filter`: `import.meta.url` becomes the source file's own
 * URL, not the bundle's (code finds VERSION, the worker, schemas and tokenizer data relative to itself).
 */
export function keepImportMetaUrl(b, filter) {
  b.onLoad({ filter }, async (args) => {
    const text = await readFile(args.path, "utf8");
    if (!text.includes("import.meta.url")) return undefined;
    return { contents: text.replaceAll("import.meta.url", JSON.stringify(pathToFileURL(args.path).href)), loader: "js" };
  });
}
