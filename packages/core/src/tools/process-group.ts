/** Sends `signal` to every process of group `pgid` (a tool process or MCP server and what it started); a group already gone is fine. */
export function signalGroup(pgid: number | undefined, signal: NodeJS.Signals): void {
  if (!pgid || pgid <= 0) return;
  try {
    process.kill(-pgid, signal);
  } catch {
    // ESRCH: the group is already gone.
  }
}
