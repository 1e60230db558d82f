// Libraries only some tools need, loaded on their first use instead of at worker start (jsdiff is
// ~10–30 ms of module loading; most sessions never call apply_patch). docs/PERFORMANCE.md has figures.
import type * as Diff from "diff";
import type Picomatch from "picomatch";

let diff: typeof Diff | null = null;
let picomatch: typeof Picomatch | null = null;

/** Loads jsdiff; call (and await) before `jsdiff()`. */
export async function loadJsdiff(): Promise<typeof Diff> {
  return (diff ??= await import("diff"));
}

export function jsdiff(): typeof Diff {
  if (!diff) throw new Error("jsdiff used before loadJsdiff() resolved");
  return diff;
}

export async function loadPicomatch(): Promise<typeof Picomatch> {
  return (picomatch ??= (await import("picomatch")).default);
}
