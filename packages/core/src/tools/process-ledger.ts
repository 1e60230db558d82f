import { mkdirSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { dirname } from "node:path";
import { processTag } from "./process-tag.js";

interface LedgerEntry {
  pgid: number;
  /** Start time of the group leader in clock ticks since boot (/proc/<pid>/stat field 22). */
  startTicks: number;
}

/** The file: the groups, and the tag scopes (process-tag.ts) whose processes are stopped too. An array: groups only (older files). */
interface LedgerFile {
  groups: LedgerEntry[];
  scopes: string[];
}

/** State letter (`Z`: zombie), process group, kernel flags and start time of a process, from /proc (Linux); null when unknown or gone. */
export function procStat(pid: number): { state: string; pgrp: number; flags: number; startTicks: number } | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    // Fields after the command name (which may contain spaces) start at the last ')'.
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    return { state: fields[0] ?? "", pgrp: Number(fields[2]), flags: Number(fields[6]), startTicks: Number(fields[19]) };
  } catch {
    return null;
  }
}

/**
 * Remembers the shell process groups of a session in a small file, so that a worker started after a
 * `kill -9` can stop the commands its predecessor left running (they are detached on purpose and
 * would otherwise live on). A group is only killed if its processes started no earlier than the
 * recorded leader, so a reused pgid of an unrelated process is left alone. Processes that left their
 * group are found by the tag scope they inherited (process-tag.ts).
 */
export class ProcessLedger {
  private entries = new Map<number, LedgerEntry>();
  private readonly scopes = new Set<string>();

  constructor(private readonly file: string) {}

  /** Remembers group `pgid` and, when given, the tag scope of its processes. */
  record(pgid: number, scope?: string): void {
    const stat = procStat(pgid);
    if (!stat) return;
    this.entries.set(pgid, { pgid, startTicks: stat.startTicks });
    if (scope) this.scopes.add(scope);
    this.save();
  }

  forget(pgid: number): void {
    if (this.entries.delete(pgid)) this.save();
  }

  /** Kills what a previous worker of this session left running; returns the pids killed. */
  reapOrphans(): number[] {
    let previous: LedgerFile;
    try {
      const stored = JSON.parse(readFileSync(this.file, "utf8")) as LedgerFile | LedgerEntry[];
      previous = Array.isArray(stored) ? { groups: stored, scopes: [] } : stored;
    } catch {
      return [];
    }
    const killed: number[] = [];
    const scopes = previous.scopes.map((scope) => `${scope}.`);
    for (const pid of listPids()) {
      if (pid === process.pid) continue;
      const stat = procStat(pid);
      if (!stat) continue;
      const inGroup = previous.groups.some((entry) => stat.pgrp === entry.pgid && stat.startTicks >= entry.startTicks);
      const tag = !inGroup && scopes.length ? processTag(pid) : null;
      if (!inGroup && !(tag && scopes.some((scope) => tag.startsWith(scope)))) continue;
      try {
        process.kill(pid, "SIGKILL");
        killed.push(pid);
      } catch {
        /* already gone */
      }
    }
    this.save();
    return killed;
  }

  private save(): void {
    try {
      mkdirSync(dirname(this.file), { recursive: true });
      const file: LedgerFile = { groups: [...this.entries.values()], scopes: [...this.scopes] };
      writeFileSync(this.file, JSON.stringify(file));
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
