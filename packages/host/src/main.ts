#!/usr/bin/env -S node --max-semi-space-size=8 --single-threaded-gc --interrupt-budget=270336 --compact-on-every-full-gc --
// starling: the host CLI.
import { runCli } from "./cli/run-cli.js";

// vscode-jsonrpc can reject a write to a worker that just died outside any awaiting code; one dead
// worker must never take the host (and every other conversation) down with it.
process.on("unhandledRejection", (reason) => {
  process.stderr.write(`starling: unhandled rejection (ignored): ${reason instanceof Error ? reason.message : String(reason)}\n`);
});

runCli(process.argv.slice(2)).then(
  (code) => {
    if (code !== null) process.exit(code);
  },
  (err: unknown) => {
    process.stderr.write(`starling: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exit(1);
  },
);
