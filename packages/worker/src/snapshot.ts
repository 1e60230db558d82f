// Entry of the worker's start-up snapshot (scripts/bundle-worker.mjs builds it with
// `node --build-snapshot`; the host starts `node --snapshot-blob worker.blob`). Building it
// evaluates every module the worker loads up front, core included, so a worker started from the
// blob skips parsing, compiling and running ~50 000 lines of module code. Everything that holds a
// fd, handle or timer (logger, stdio, JSON-RPC connection, LevelDB's native addon) is created
// in runWorker, after deserialisation.
import { startupSnapshot } from "node:v8";
import * as core from "@starling/core";
import { runWorker } from "./run.js";
import { processResidue, warmUpForSnapshot } from "./snapshot-warmup.js";
import { rearmTimers, settleTimers } from "./snapshot-timers.js";

// Keeps core (imported lazily by the plain entry) in the snapshot's heap.
(globalThis as { starlingCore?: unknown }).starlingCore = core;
let warmedUp = false;
const before = processResidue();
// A rejection fails the build (an unhandled rejection ends the builder before it writes the blob).
void warmUpForSnapshot()
  .then(settleTimers)
  .then(() => (warmedUp = true));
startupSnapshot.addSerializeCallback(() => {
  if (!warmedUp) throw new Error("the snapshot warm-up did not finish before the heap was serialised");
  const after = processResidue();
  const left = after.filter((item) => !before.includes(item));
  if (left.length) throw new Error(`the snapshot warm-up left behind: ${left.join(", ")}`);
});
startupSnapshot.setDeserializeMainFunction(() => {
  rearmTimers();
  runWorker();
});
