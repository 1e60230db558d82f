import { readdirSync } from "node:fs";
import { procStat } from "./process-ledger.js";
/** Sends `signal` to every process of group `pgid` (a tool process or MCP server and what it started); a group already gone is fine. */
export function signalGroup(pgid: number | undefined, signal: NodeJS.Signals): void {
  if (!pgid || pgid <= 0) return;
  try {
    process.kill(-pgid, signal);
  } catch {
    // ESRCH: the group is already gone.
  }
}

/** Whether group `pgid` has a member that is not a zombie: a scan of /proc (a few ms per hundred processes). */
export function groupHasLiving(pgid: number): boolean {
  let names: string[];
  try {
    names = readdirSync("/proc");
  } catch {
    return true; // no /proc to tell: as kill(-pgid, 0) said
  }
  for (const name of names) {
    const stat = /^\d+$/.test(name) ? procStat(Number(name)) : null;
    if (stat && stat.pgrp === pgid && stat.state !== "Z" && stat.state !== "X") return true;
  }
  return false;
}
