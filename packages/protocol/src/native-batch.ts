/** One operation of a LevelDB batch on string keys with `json` values. */
export type JsonBatchOp = { type: "put"; key: string; value: unknown } | { type: "del"; key: string };
type Encoded = { type: "put"; key: string; value: string } | { type: "del"; key: string };

/** What this needs of a classic-level database opened with `valueEncoding: "json"` (structural: protocol does not depend on level). */
export interface JsonLevel {
  readonly status: string;
  batch(operations: JsonBatchOp[], options: { sync: boolean }): Promise<void>;
}
/** classic-level's implementation of a batch, under abstract-level's public `batch` (its "private API for implementors"). */
type Implementation = { _batch(operations: Encoded[], options: { sync: boolean }): Promise<void> };

/**
 * A batch handed straight to classic-level's native batch, values JSON-encoded here exactly as the `json`
 * value encoding does: the same atomic write with the same `sync`. abstract-level's public `batch` copies,
 * checks and re-encodes every operation through several calls first (docs/PERFORMANCE.md, "Worker CPU per
 * young turn"). Keys are plain strings of the root database, so nothing else of that path applies. A
 * database not open, an empty batch and a put without a value go through `batch`, which does as before (raises abstract-level's own error, or writes nothing).
 */
export function nativeJsonBatch(db: JsonLevel, operations: JsonBatchOp[], options: { sync: boolean }): Promise<void> {
  if (db.status !== "open" || operations.length === 0) return db.batch(operations, options);
  const encoded: Encoded[] = new Array<Encoded>(operations.length);
  for (let i = 0; i < operations.length; i++) {
    const op = operations[i]!;
    if (op.type === "del") encoded[i] = op;
    else if (op.value === null || op.value === undefined) return db.batch(operations, options);
    else {
      // A value JSON cannot encode (a BigInt) fails the batch as `batch` does: a rejection, not a throw.
      try {
        encoded[i] = { type: "put", key: op.key, value: JSON.stringify(op.value) };
      } catch (err) {
        return Promise.reject(err);
      }
    }
  }
  return (db as unknown as Implementation)._batch(encoded, options);
}
