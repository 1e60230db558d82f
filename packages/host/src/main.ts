#!/usr/bin/env node
// starling: the host CLI.
import { runCli } from "./cli/run-cli.js";

runCli(process.argv.slice(2)).then(
  (code) => {
    if (code !== null) process.exit(code);
  },
  (err: unknown) => {
    process.stderr.write(`starling: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exit(1);
  },
);
