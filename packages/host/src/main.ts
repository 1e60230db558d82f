#!/usr/bin/env -S node --max-semi-space-size=8 --single-threaded-gc --interrupt-budget=270336 --compact-on-every-full-gc --
// starling: the host CLI.
import { currentHostBundle, loadHostBundle } from "./host-bundle.js";

// Replaced by the version string when `pnpm package` bundles the host (scripts/package.mjs).
declare const STARLING_BUNDLE_VERSION: string | undefined;

// vscode-jsonrpc can reject a write to a worker that just died outside any awaiting code; one dead
// worker must never take the host (and every other conversation) down with it.
process.on("unhandledRejection", (reason) => {
  process.stderr.write(`starling: unhandled rejection (ignored): ${reason instanceof Error ? reason.message : String(reason)}\n`);
});

type Cli = typeof import("./cli/run-cli.js");
// The workspace build runs the CLI as one file, from a V8 code cache, while that is current (~0.5 s less CPU per start).
const bundle = typeof STARLING_BUNDLE_VERSION === "string" ? null : currentHostBundle(new URL("./run-cli.bundle.json", import.meta.url));
const { runCli }: Cli = bundle ? (loadHostBundle(bundle).exports as Cli) : await import("./cli/run-cli.js");

runCli(process.argv.slice(2)).then(
  (code) => {
    if (code !== null) process.exit(code);
  },
  (err: unknown) => {
    process.stderr.write(`starling: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exit(1);
  },
);
