import { closeSync, openSync, writeSync } from "node:fs";

/** Writes zeros into `path` until its filesystem is full (ENOSPC): large blocks, then small ones for the rest. */
export function fillDisk(path: string): void {
  const fd = openSync(path, "w");
  try {
    for (const size of [64 * 1024, 4096]) {
      const block = Buffer.alloc(size);
      try {
        for (;;) writeSync(fd, block);
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== "ENOSPC") throw err;
      }
    }
  } finally {
    closeSync(fd);
  }
}
