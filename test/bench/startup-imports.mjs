// Child script for the startup breakdown: imports the worker's dependency tree step by step, in
// the order a worker loads it, and prints the incremental cost of each step as JSON on stdout.
// Run with `node --experimental-import-meta-resolve` (resolution from each package's own folder).
import { pathToFileURL } from "node:url";

const root = new URL("../../", import.meta.url);
const from = (pkg) => new URL(`${pkg}/package.json`, root).href;
const worker = from("packages/worker");
const protocol = from("packages/protocol");
const core = from("packages/core");

const steps = [
  ["vscode-jsonrpc/node.js", worker],
  ["zod", protocol],
  ["@starling/protocol", worker],
  ["xstate", core],
  ["level", core],
  ["diff", core],
  ["picomatch", core],
  ["@starling/core", worker],
];

const started = performance.now();
const out = [];
for (const [specifier, parent] of steps) {
  const url = import.meta.resolve(specifier, parent);
  const t0 = performance.now();
  await import(url.startsWith("file:") ? url : pathToFileURL(url).href);
  out.push({ module: specifier, ms: performance.now() - t0 });
}
out.push({ module: "(total)", ms: performance.now() - started });
// `started` is the time from process start to this script running: node's own boot.
process.stdout.write(JSON.stringify({ bootMs: started, steps: out }) + "\n");
