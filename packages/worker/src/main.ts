#!/usr/bin/env node
// starling-worker: one agent session over JSON-RPC on stdio (Content-Length framing).
import { guardStdout } from "./stdout-guard.js";
guardStdout();

import { runWorker } from "./run.js";

runWorker();
