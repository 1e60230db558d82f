// fsync/fdatasync calls per turn, host and worker apart: the real host runs under
// `strace -f --seccomp-bpf -e trace=fsync,fdatasync -y` (only those calls stop; `-y` names the file
// synced, which tells the host's LevelDB from a session's), one closed-loop conversation.
import { execFileSync } from "node:child_process";
import { readFileSync, rmSync } from "node:fs";
import { join } from "node:path";
import type { FakeOpenAI } from "../fakes/openai-server.js";
import { privateChat, startFakeTelegram } from "../fakes/telegram-api.js";
import { childPids, hostConfig, startHost, until } from "./host-process.js";
import { sleep } from "./proc.js";
import { ReplyWatcher } from "./telegram-driver.js";

export interface SyncCount {
  turns: number;
  /** Sync calls on the host's database (DIR/state/host) per turn. */
  hostPerTurn: number;
  /** Sync calls on the sessions' stores (the workers) per turn. */
  workerPerTurn: number;
  /** Any other file synced per turn. */
  otherPerTurn: number;
  /** The synced files by kind, per turn: e.g. `host *.log` → 6. */
  byFile: Record<string, number>;
}

/** Null (with the reason logged) when strace is missing or cannot trace here. */
export async function countSyncs(model: FakeOpenAI, outDir: string, turns: number, log: (line: string) => void): Promise<SyncCount | null> {
  try {
    execFileSync("strace", ["-f", "--seccomp-bpf", "-e", "trace=fsync", "-o", "/dev/null", process.execPath, "-e", "0"], { stdio: "ignore" });
  } catch {
    log("fsync count skipped: `strace -f --seccomp-bpf` does not run here");
    return null;
  }
  log(`fsyncs per turn: 1 conversation × ${turns} turns under strace`);
  const dir = join(outDir, "host-syncs");
  rmSync(dir, { recursive: true, force: true });
  const traceFile = join(outDir, "host-syncs.strace");
  const tg = await startFakeTelegram();
  const config = hostConfig({ modelUrl: model.url, apiRoot: tg.apiRoot, adminUserIds: [5001], allowedChatIds: [5001], maxConcurrentTurns: 1, idleShutdownSeconds: 120, pollIntervalMs: 0 });
  const strace = ["strace", "-f", "--seccomp-bpf", "-qq", "-ttt", "-y", "-e", "trace=fsync,fdatasync", "-o", traceFile];
  const host = startHost(dir, config, tg.token, [], strace);
  const watcher = new ReplyWatcher(tg);
  let from = 0;
  let to = 0;
  try {
    const send = async (marker: string) => {
      tg.sendText(privateChat(5001), `please answer ${marker}`);
      await watcher.reply(marker, 60_000);
    };
    await send("bm-sync-warm");
    await sleep(300); // the warm-up turn's last outbox writes
    from = Date.now() / 1000;
    for (let i = 0; i < turns; i++) await send(`bm-sync-${i}`);
    await sleep(300);
    to = Date.now() / 1000;
  } finally {
    watcher.stop();
    // SIGTERM the host itself (strace's child), then wait for strace to finish writing.
    const node = childPids(host.pid)[0];
    if (node !== undefined) process.kill(node, "SIGTERM");
    await until(() => host.child.exitCode !== null || host.child.signalCode !== null, 20_000, "host under strace to exit").catch(() => host.stop(1_000));
    await tg.close();
  }
  const byFile: Record<string, number> = {};
  let hostCalls = 0;
  let workerCalls = 0;
  let otherCalls = 0;
  for (const line of readFileSync(traceFile, "utf8").split("\n")) {
    const m = /^\d+\s+(\d+\.\d+) (?:fsync|fdatasync)\(\d+<([^>]*)>/.exec(line); // also "<unfinished ...>" lines
    if (!m || Number(m[1]) < from || Number(m[1]) > to) continue;
    const path = m[2]!;
    const base = path.replace(/^.*\//, "").replace(/^\d+\./, "*.");
    const owner = path.includes("/state/host/") ? "host" : path.includes("/conversations/") ? "worker" : "other";
    if (owner === "host") hostCalls++;
    else if (owner === "worker") workerCalls++;
    else otherCalls++;
    const key = `${owner} ${base}`;
    byFile[key] = (byFile[key] ?? 0) + 1;
  }
  for (const key of Object.keys(byFile)) byFile[key] = byFile[key]! / turns;
  return { turns, hostPerTurn: hostCalls / turns, workerPerTurn: workerCalls / turns, otherPerTurn: otherCalls / turns, byFile };
}
