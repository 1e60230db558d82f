import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { fileURLToPath } from "node:url";
import type { FastifyInstance } from "fastify";

const require = createRequire(import.meta.url);
/** The page's own files (packages/host/web) and the two libraries it uses, straight from node_modules (no CDN). */
const PAGE_DIR = fileURLToPath(new URL("../../../web/", import.meta.url));
const ASSETS: Record<string, { file: string; type: string }> = {
  "app.js": { file: `${PAGE_DIR}app.js`, type: "text/javascript" },
  "app.css": { file: `${PAGE_DIR}app.css`, type: "text/css" },
  "marked.js": { file: require.resolve("marked"), type: "text/javascript" },
  "purify.js": { file: require.resolve("dompurify").replace(/purify\.cjs\.js$/, "purify.es.mjs"), type: "text/javascript" },
};

/** `GET /` and `GET /assets/<name>`: served without the token (the page asks for it and keeps it in localStorage). */
export function pageRoutes(app: FastifyInstance): void {
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
