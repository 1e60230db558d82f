import type { ChildProcess } from "node:child_process";

/**
 * Kills `child` with SIGKILL and resolves once it has exited. A test that only sends the signal may go on
 * while the child still runs for a moment: a rename loop then refills a folder being removed (ENOTEMPTY).
 */
export async function killAndWait(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const gone = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  child.kill("SIGKILL");
  await gone;
}
