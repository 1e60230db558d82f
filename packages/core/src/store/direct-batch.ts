import type { Level } from "level";
import { nativeJsonBatch } from "@starling/protocol";
import type { SessionDb } from "./session-store.js";

/**
 * The session's LevelDB with its batches handed straight to classic-level's native batch (protocol's
 * `nativeJsonBatch`): in a young worker (baseline code, nothing inlined) abstract-level's checks and
 * per-operation copies cost more than the native write they prepare (docs/PERFORMANCE.md, "Worker CPU
 * per young turn").
 */
export function directBatches(db: Level<string, unknown>): SessionDb {
  return {
    get status() {
      return db.status;
    },
    get: (key) => db.get(key),
    put: (key, value) => db.put(key, value),
    batch: (operations, options) => nativeJsonBatch(db, operations, options),
    keys: (range) => db.keys(range),
    values: (range) => db.values(range),
    close: () => db.close(),
  };
}
