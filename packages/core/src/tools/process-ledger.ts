import { mkdirSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { dirname } from "node:path";

interface LedgerEntry {
  pgid: number;
  /** Start time of the group leader in clock ticks since boot (/proc/<pid>/stat field 22). */
  startTicks: number;
}

/** Process group and start time of a live process, from /proc (Linux); null when unknown or gone. */
function procStat(pid: number): { pgrp: number; startTicks: number } | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    // Fields after the command name (which may contain spaces) start at the last ')'.
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    return { pgrp: Number(fields[2]), startTicks: Number(fields[19]) };
  } catch {
    return null;
  }
}

/**
 * Remembers the shell process groups of a session in a small file, so that a worker started after a
 * `kill -9` can stop the commands its predecessor left running (they are detached on purpose and
 * would otherwise live on). A group is only killed if its processes started no earlier than the
 * recorded leader, so a reused pgid of an unrelated process is left alone.
 */
export class ProcessLedger {
  private entries = new Map<number, LedgerEntry>();

  constructor(private readonly file: string) {}

  record(pgid: number): void {
    const stat = procStat(pgid);
    if (!stat) return;
    this.entries.set(pgid, { pgid, startTicks: stat.startTicks });
    this.save();
  }

  forget(pgid: number): void {
    if (this.entries.delete(pgid)) this.save();
  }

  /** Kills what a previous worker of this session left running; returns the pids killed. */
  reapOrphans(): number[] {
    let previous: LedgerEntry[] = [];
    try {
      previous = JSON.parse(readFileSync(this.file, "utf8")) as LedgerEntry[];
    } catch {
      return [];
    }
    const killed: number[] = [];
    const pids = listPids();
    for (const entry of previous) {
      for (const pid of pids) {
        const stat = procStat(pid);
        if (!stat || stat.pgrp !== entry.pgid || stat.startTicks < entry.startTicks) continue;
        try {
          process.kill(pid, "SIGKILL");
          killed.push(pid);
        } catch {
          /* already gone */
        }
      }
    }
    this.save();
    return killed;
  }

  private save(): void {
    try {
      mkdirSync(dirname(this.file), { recursive: true });
      writeFileSync(this.file, JSON.stringify([...this.entries.values()]));
    } catch {
      /* best effort: the ledger only helps cleanup after crashes */
    }
  }
}

function listPids(): number[] {
  try {
    return readdirSync("/proc").filter((name) => /^\d+$/.test(name)).map(Number);
  } catch {
    return [];
  }
}
