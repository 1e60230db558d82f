import type { Level } from "level";
import type { SessionDb } from "./session-store.js";

type Op = Parameters<SessionDb["batch"]>[0][number];
type Encoded = { type: "put"; key: string; value: string } | { type: "del"; key: string };
/** classic-level's implementation of a batch, under abstract-level's public `batch` (its "private API for implementors"). */
type Implementation = { _batch(operations: Encoded[], options: { sync: boolean }): Promise<void> };

/**
 * The session's LevelDB with its batches handed straight to classic-level's native batch, values
 * JSON-encoded here exactly as the `json` value encoding does. abstract-level's public `batch` copies,
 * checks and re-encodes every operation through several calls first; in a young worker (baseline code,
 * nothing inlined) that costs more than the native write it prepares (docs/PERFORMANCE.md, "Worker CPU
 * per young turn"). Keys are plain strings of the root database, so nothing else of that path applies.
 * A database not open goes through `batch`, which raises abstract-level's own error.
 */
export function directBatches(db: Level<string, unknown>): SessionDb {
  const impl = db as unknown as Implementation;
  return {
    get status() {
      return db.status;
    },
    get: (key) => db.get(key),
    put: (key, value) => db.put(key, value),
    batch(operations: Op[], options) {
      if (db.status !== "open") return db.batch(operations, options);
      const encoded = operations.map((op): Encoded => (op.type === "put" ? { type: "put", key: op.key, value: JSON.stringify(op.value) } : op));
      return impl._batch(encoded, options);
    },
    keys: (range) => db.keys(range),
    values: (range) => db.values(range),
    close: () => db.close(),
  };
}
