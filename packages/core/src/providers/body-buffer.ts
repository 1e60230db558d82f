import { forgetLastJson, type JsonBody } from "./json-body.js";

/** The smallest buffer kept: a plain turn's body (~28 kB with the built-in tools) fits. */
const FLOOR_BYTES = 32 * 1024;
/**
 * A larger body gets a buffer of its own. Bodies with inlined media (27 MB of base64 at most per request,
 * normalize.ts) are kept too: each model call of such a conversation sends them again, and the buffer
 * goes at the next pause.
 */
const MAX_KEPT_BYTES = 32 * 1024 * 1024;

/** A body's bytes for one request; `release()` once nothing reads them any more (idempotent). */
export interface BodyBytes {
  readonly bytes: Buffer;
  release(): void;
}

let kept: Buffer | null = null;
let holder: BodyBytes | null = null;

/**
 * `body` written into the process's one kept buffer: a model call writes its body there instead of
 * allocating it (a body's malloc'd buffer per call grew and trimmed malloc's heap: docs/PERFORMANCE.md,
 * session 21). The buffer is grown (to a power of two) only when a body does not fit, and lent to one
 * request at a time, until it released it: node:http may still be writing it after the response began,
 * and a retry sends it again. A body written while it is lent, or larger than MAX_KEPT_BYTES, gets a
 * buffer of its own.
 */
export function bodyBytes(body: JsonBody): BodyBytes {
  const size = body.byteLength;
  if (holder !== null || size > MAX_KEPT_BYTES) {
    const own = Buffer.allocUnsafeSlow(size);
    return { bytes: own.subarray(0, body.writeTo(own)), release: () => undefined };
  }
  if (kept === null || kept.length < size) kept = Buffer.allocUnsafeSlow(capacityFor(size));
  const lease: BodyBytes = {
    bytes: kept.subarray(0, body.writeTo(kept)),
    release: () => {
      if (holder === lease) holder = null;
    },
  };
  return (holder = lease);
}

function capacityFor(size: number): number {
  let capacity = FLOOR_BYTES;
  while (capacity < size) capacity *= 2;
  return capacity;
}

/**
 * Drops the kept buffer and the last system message's JSON (the worker's idle pause, the snapshot build);
 * a buffer still lent stays until the next pause.
 */
export function releaseBodyBuffer(): void {
  if (holder === null) kept = null;
  forgetLastJson();
}
