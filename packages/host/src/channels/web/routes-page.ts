import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { fileURLToPath } from "node:url";
import type { FastifyInstance } from "fastify";
import { isBundled } from "../../worker-path.js";

/**
 * The page's own files (packages/host/web) and the two libraries it uses, straight from node_modules (no CDN).
 * In the npm package (`pnpm package`) all of them are copied next to the bundle, in `dist/web/`: the bundle has
 * no node_modules with marked or dompurify to resolve them from. Resolved when the web channel starts, never
 * at import, so a missing file can only affect the page, not every `starling` command.
 */
function pageAssets(): { dir: string; assets: Record<string, { file: string; type: string }> } {
  const bundled = isBundled();
  const dir = fileURLToPath(new URL(bundled ? "./web/" : "../../../web/", import.meta.url));
  const require = createRequire(import.meta.url);
  const marked = bundled ? `${dir}marked.esm.js` : require.resolve("marked");
  const purify = bundled ? `${dir}purify.es.mjs` : require.resolve("dompurify").replace(/purify\.cjs\.js$/, "purify.es.mjs");
  return {
    dir,
    assets: {
      "app.js": { file: `${dir}app.js`, type: "text/javascript" },
      "app.css": { file: `${dir}app.css`, type: "text/css" },
      "marked.js": { file: marked, type: "text/javascript" },
      "purify.js": { file: purify, type: "text/javascript" },
    },
  };
}

/** `GET /` and `GET /assets/<name>`: served without the token (the page asks for it and keeps it in localStorage). */
export function pageRoutes(app: FastifyInstance): void {
  const { dir: PAGE_DIR, assets: ASSETS } = pageAssets();
  const csp = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data: blob:; connect-src 'self'; frame-ancestors 'none'";
  app.get("/", async (_req, reply) =>
    reply.header("content-type", "text/html; charset=utf-8").header("content-security-policy", csp).send(readFileSync(`${PAGE_DIR}index.html`)),
  );
  app.get<{ Params: { name: string } }>("/assets/:name", async (req, reply) => {
    const asset = Object.hasOwn(ASSETS, req.params.name) ? ASSETS[req.params.name] : undefined;
    if (!asset) return reply.code(404).send({ error: { code: "not_found", message: `no asset ${req.params.name}` } });
    return reply.header("content-type", `${asset.type}; charset=utf-8`).header("cache-control", "no-cache").send(readFileSync(asset.file));
  });
}
