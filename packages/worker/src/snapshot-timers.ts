// Node's timers keep in JS module state the expiry their single libuv timer is armed for
// (lib/internal/timers.js `nextExpiry`), and arm that timer again only for a new timer list due before
// it. A start-up snapshot keeps the JS state but not the armed libuv timer. The warm-up's model exchange
// sets and clears a header timer (`conn_timeout` 10 s), so a blob built without the two steps below
// starts workers that believe their timer is armed for ~10 s into their life: a worker whose first
// timer came later (a warm spare taken after that) never fired one again. No retry sleep ended, no
// `conn_timeout` or stream idle limit struck, no exit followed `shutdown` (docs/RELIABILITY.md,
// "Found and fixed: a worker whose timers never fired").

/**
 * Build side, after the warm-up: one timer run with nothing else pending leaves the timers' state
 * empty (no list, nothing armed) in the serialised heap.
 */
export function settleTimers(): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, 0));
}

/**
 * Worker side, first thing after deserialisation: a timer due ~1 ms into the worker's life is due
 * before any expiry a build can have left behind, so it arms the libuv timer, and its run rebuilds the
 * state from this process's own timers. Guards against a warm-up that someday leaves a timer behind.
 */
export function rearmTimers(): void {
  setTimeout(() => undefined, 0);
}
