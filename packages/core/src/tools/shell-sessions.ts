import { type ChildProcess, spawn } from "node:child_process";
import type { ProcessLedger } from "./process-ledger.js";
import { closeSync, existsSync, writeSync } from "node:fs";
import { setTimeout as sleep } from "node:timers/promises";
import { ToolError } from "./errors.js";
import type { OutputStore } from "./output-store.js";
import type { RemoteLaunch } from "./remote/remote-workspace.js";
import { HEARTBEAT_FRAME, heartbeatMs, inputFrame, withoutEndMark } from "./remote/shell-wrapper.js";
import { answerLimitS, closeStuckMaster, withoutAlive } from "./remote/ssh.js";
import { type OutputPreview, previewFile } from "./shell-output.js";
import { type ToolCommand, ToolProcessLauncher } from "./tool-process.js";
import { groupHasLiving, signalGroup } from "./process-group.js";
import { newTagScope, PROCESS_TAG_VAR, stopTagged, taggedPids } from "./process-tag.js";
import { PidNamespace } from "./pid-namespace.js";

/** SIGTERM → SIGKILL grace when a process group is stopped. */
export const KILL_GRACE_MS = 200;
/** At most this many shell sessions run at once. */
export const MAX_RUNNING_SESSIONS = 16;
const CLOSE_AFTER_EXIT_MS = 250;
/**
 * How long stopping a remote command waits for the remote side to confirm it (its wrapper kills the command's
 * group when ssh's stdin closes, then exits, which ends ssh) before the local ssh is killed anyway.
 */
export const REMOTE_STOP_MS = 3_000;
const POLL_MS = 20;

export interface ShellExit {
  code: number | null;
  signal: NodeJS.Signals | null;
}

/** One command started by `shell`, running in its own process group; output goes to one file. */
export interface ShellSession {
  readonly id: string;
  readonly command: string;
  /** Pid of the shell, which is also the process group id. */
  readonly pid: number;
  readonly startedAt: number;
  /** Workspace-relative path of the combined stdout + stderr file (for the model; never reopened by the worker). */
  readonly outDisplay: string;
  /** `null` while running. */
  exit: ShellExit | null;
  /**
   * Set for a command run on an SSH host (remote/shell-wrapper.ts); `ended` once the remote wrapper reported the command's
   * end; `silentFor`: the seconds without a byte from it after which the session gave the connection up and killed ssh.
   */
  readonly remote: { readonly host: string; ended: boolean; silentFor: number | null } | null;
}

/**
 * The remote wrapper never reported the command's end and ssh exited 255 (the connection failed or dropped) or was
 * killed after answerLimitS() without a byte (a ControlMaster that stopped forwarding).
 */
export function connectionLost(session: ShellSession): boolean {
  return session.remote !== null && !session.remote.ended && (session.exit?.code === 255 || session.remote.silentFor !== null);
}

interface SessionState extends ShellSession {
  /** This command's PROCESS_TAG_VAR: finds what it started outside its process group. */
  tag: string;
  child: ChildProcess;
  exited: Promise<ShellExit>;
  closed: Promise<void>;
  bytes: number;
  readOffset: number;
  /** The output file, open for writing and reading until the session is forgotten (never reopened by path: see OutputStore). */
  out: { fd: number | null };
}

export type WaitOutcome = "exited" | "timeout" | "aborted";

/**
 * The shell sessions of one ToolRuntime. Every command runs as `bash -c` (or `sh -c`) in the
 * workspace, detached into its own process group so it can be stopped as a whole, stdout and stderr
 * appended to one file under `.output/shell/`. Finished sessions are forgotten once reported, but
 * their process group is still killed by `killAll` if something in it lives on. Every command also
 * carries a tag in its environment (process-tag.ts), so what leaves the group (`setsid`, daemons) is
 * stopped with it.
 */
export class ShellSessions {
  private readonly sessions = new Map<string, SessionState>();
  private readonly groups = new Map<number, SessionState>();
  private counter = 0;
  private launched = 0;
  private readonly scope = newTagScope();
  private readonly shell: readonly string[];
  /** Subprocess mode: the PID namespace the commands run in, killed whole by killAll (pid-namespace.ts). */
  private readonly namespace = new PidNamespace();

  constructor(
    private readonly cwd: string,
    private readonly outputs: OutputStore,
    private readonly ledger?: ProcessLedger,
    private readonly launcher = new ToolProcessLauncher({ workspace: cwd }),
  ) {
    this.shell = existsSync("/bin/bash") ? ["/bin/bash", "-c"] : ["/bin/sh", "-c"];
  }

  newId(): string {
    do this.counter += 1;
    while (this.sessions.has(`sh_${this.counter}`));
    return `sh_${this.counter}`;
  }

  get(id: string): ShellSession | undefined {
    return this.sessions.get(id);
  }

  ids(): string[] {
    return [...this.sessions.keys()];
  }

  /**
   * Starts `command` under `id` (which must not be in use). With `remote`, that process is started
   * instead of the local shell (the ssh client of a remote command; see remote/remote-workspace.ts).
   */
  async start(id: string, command: string, remote?: RemoteLaunch): Promise<ShellSession> {
    const running = [...this.sessions.values()].filter((s) => s.exit === null).length;
    if (running >= MAX_RUNNING_SESSIONS) {
      throw new ToolError("failed", `Too many running shell sessions (${running}); stop some with shell_close first (${this.ids().join(", ")}).`);
    }
    if (!remote) await this.launcher.ready();
    const [program = "/bin/sh", ...flags] = this.shell;
    // In bubblewrap mode the group leader is bwrap: killing its group ends the whole sandbox.
    const tag = `${this.scope}.${++this.launched}`;
    const launch = remote ? { ...remote, cwd: this.cwd } : await this.local([program, ...flags, command], { [PROCESS_TAG_VAR]: tag });
    const file = this.outputs.create("shell", id, "log");
    const out = { fd: file.fd as number | null };
    const child = spawn(launch.program, launch.args, { cwd: launch.cwd, detached: true, stdio: ["pipe", "pipe", "pipe"], env: launch.env });
    const state: SessionState = {
      id, command, tag, pid: child.pid ?? -1, startedAt: Date.now(), outDisplay: file.display,
      exit: null, child, bytes: 0, readOffset: 0, out, remote: remote ? { host: remote.host, ended: false, silentFor: null } : null,
      exited: Promise.resolve({ code: null, signal: null }), closed: Promise.resolve(),
    };
    const onData = (chunk: Buffer): void => {
      if (out.fd === null) return;
      writeSync(out.fd, chunk);
      state.bytes += chunk.length;
    };
    let heard = performance.now(); // monotonic: a wall clock set back or forward is no silence
    let closing: Promise<unknown> = Promise.resolve();
    child.stdout?.on("data", (chunk: Buffer) => {
      heard = performance.now();
      onData(chunk);
    });
    child.stderr?.on("data", (chunk: Buffer) => {
      heard = performance.now();
      if (!state.remote) return onData(chunk);
      const rest = withoutEndMark(chunk);
      if (rest) state.remote.ended = true;
      onData(withoutAlive(rest ?? chunk));
    });
    child.stdin?.on("error", () => undefined); // EPIPE after the process ended: reported by write()
    // The remote wrapper stops a command that hears nothing from us (a silent partition): tell it we are here. It
    // beats back; a connection silent for answerLimitS() forwards nothing (a stuck ControlMaster): give it up.
    const heartbeat = remote
      ? setInterval(() => {
          sendFrame(child, HEARTBEAT_FRAME);
          if (state.remote && state.remote.silentFor === null && performance.now() - heard >= answerLimitS() * 1000) {
            state.remote.silentFor = answerLimitS();
            // Our ssh first: a multiplexing client whose master dies mid-handshake would connect on its own and run the command.
            signalGroup(state.pid, "SIGKILL");
            closing = closeStuckMaster(state.remote.host);
          }
        }, heartbeatMs())
      : undefined;
    heartbeat?.unref();
    state.exited = new Promise((resolveExit) => {
      child.once("exit", (code, signal) => {
        clearInterval(heartbeat);
        // Reported once the stuck master is gone too, so the next command cannot meet it.
        void closing.then(() => resolveExit((state.exit = { code, signal })));
      });
      child.once("error", () => resolveExit((state.exit ??= { code: null, signal: null })));
    });
    state.closed = new Promise((resolveClose) => {
      child.once("close", () => {
        if (!groupAlive(state.pid)) this.dropGroup(state.pid);
        resolveClose();
      });
    });
    if (child.pid === undefined) {
      const error = await new Promise<Error>((resolveError) => child.once("error", resolveError));
      closeOutput(state);
      throw new ToolError("failed", `Could not start the shell (${launch.program}): ${error.message}`);
    }
    this.sessions.set(id, state);
    this.groups.set(state.pid, state);
    this.ledger?.record(state.pid, this.scope);
    return state;
  }

  /** Waits until the session's command exits, `ms` pass, or `signal` aborts. */
  async wait(session: ShellSession, ms: number, signal: AbortSignal): Promise<WaitOutcome> {
    const state = this.state(session);
    if (state.exit === null) {
      const outcome = await new Promise<WaitOutcome>((resolveWait) => {
        const done = (outcome: WaitOutcome): void => {
          clearTimeout(timer);
          signal.removeEventListener("abort", onAbort);
          resolveWait(outcome);
        };
        const onAbort = (): void => done("aborted");
        const timer = setTimeout(() => done("timeout"), ms);
        if (signal.aborted) return done("aborted");
        signal.addEventListener("abort", onAbort, { once: true });
        void state.exited.then(() => done("exited"));
      });
      if (outcome !== "exited") return outcome;
    }
    // Let the pipes drain so the output of a finished command is complete.
    await Promise.race([state.closed, sleep(CLOSE_AFTER_EXIT_MS)]);
    return "exited";
  }

  /** Output written since the last call, as a bounded preview; advances the read position. */
  readNew(session: ShellSession, maxChars: number): OutputPreview {
    const state = this.state(session);
    if (state.out.fd === null) return { text: "", truncated: false, end: state.readOffset };
    const preview = previewFile(state.out.fd, state.readOffset, state.bytes, maxChars, state.outDisplay, state.exit === null);
    state.readOffset = preview.end;
    return preview;
  }

  /** Writes `input` verbatim to the command's stdin (framed for a remote command's wrapper). */
  async write(session: ShellSession, input: string): Promise<void> {
    const stdin = this.state(session).child.stdin;
    const bytes = session.remote ? inputFrame(Buffer.from(input, "utf8")) : input;
    if (!stdin || stdin.destroyed || !stdin.writable) {
      throw new ToolError("failed", `Shell session ${session.id} no longer accepts input (its stdin is closed).`);
    }
    await new Promise<void>((resolveWrite, rejectWrite) => {
      stdin.write(bytes, (error) => (error ? rejectWrite(new ToolError("failed", `Could not write to session ${session.id}: ${error.message}`)) : resolveWrite()));
    });
  }

  /** Stops the session's whole process group: SIGTERM, then SIGKILL after the grace. */
  async kill(session: ShellSession): Promise<void> {
    const state = this.state(session);
    await stopRemote(state);
    await Promise.all([killGroup(state.pid, state.exited), stopTagged((tag) => tag === state.tag, KILL_GRACE_MS, POLL_MS)]);
    this.dropGroup(state.pid);
  }

  /** Drops a finished session from the registry (its group stays tracked until it is gone). */
  forget(id: string): void {
    const state = this.sessions.get(id);
    this.sessions.delete(id);
    if (!state) return;
    // The file takes what the pipes still hold (the full log stays complete), then closes.
    void state.closed.then(() => closeOutput(state));
  }

  /**
   * What the worker's exit would stop: commands still running, and finished ones that left something alive (in
   * their process group, or tagged: a daemon that left it). Scans /proc for what finished, so it is for idle checks
   * and /status, not for every turn. A count of commands, at least 1 when anything they left lives.
   */
  alive(): number {
    let count = 0;
    for (const state of new Set([...this.sessions.values(), ...this.groups.values()])) {
      if (state.exit === null || groupAlive(state.pid)) count++;
      else this.dropGroup(state.pid);
    }
    if (count > 0 || this.launched === 0) return count;
    const ours = `${this.scope}.`;
    return taggedPids((tag) => tag.startsWith(ours)).length > 0 ? 1 : 0;
  }

  /** Kills every process group started here, running or lingering, and forgets all sessions; how many commands still ran. */
  async killAll(): Promise<number> {
    const states = new Set([...this.sessions.values(), ...this.groups.values()]);
    const running = [...states].filter((state) => state.exit === null).length;
    this.sessions.clear();
    // A call interrupted by this (cancel, a worker restart) still reads its command's last output: the files stay
    // open a while, long enough for that call to report, and are closed then.
    for (const state of states) setTimeout(() => closeOutput(state), RETIRED_OUTPUT_MS).unref();
    // Commands started from here on (a new turn right after /cancel) are not this killAll's: a new namespace, tags not matched.
    const endNamespace = this.namespace.detach();
    const ours = `${this.scope}.`;
    const launched = this.launched;
    await Promise.all([
      ...[...states].map(async (state) => {
        await stopRemote(state);
        await killGroup(state.pid, state.exited);
      }),
      // The /proc scan only when a command was ever started here: a worker that ran none skips it at every shutdown.
      launched > 0 ? stopTagged((tag) => tag.startsWith(ours) && Number(tag.slice(ours.length)) <= launched, KILL_GRACE_MS, POLL_MS) : undefined,
    ]);
    // What left both its group and its tag (`env -i setsid …`, a double fork) is still in the namespace.
    await endNamespace();
    for (const pgid of [...this.groups.keys()]) this.dropGroup(pgid);
    return running;
  }

  /** A local command as spawned: in subprocess mode entered into the namespace when there is one. */
  private async local(argv: [string, ...string[]], env: Record<string, string>): Promise<ToolCommand> {
    const launch = this.launcher.command(argv, this.cwd, env);
    await this.launcher.reported();
    const enter = this.launcher.mode === "subprocess" && this.launcher.sandbox.pidNamespace ? await this.namespace.prefix(launch.cwd) : null;
    if (!enter) return launch;
    const [nsenter = "nsenter", ...options] = enter;
    return { ...launch, program: nsenter, args: [...options, launch.program, ...launch.args] };
  }

  private dropGroup(pgid: number): void {
    this.groups.delete(pgid);
    this.ledger?.forget(pgid);
  }

  private state(session: ShellSession): SessionState {
    // Every ShellSession handed out by start() is a SessionState.
    return session as SessionState;
  }
}

/** How long killAll leaves the output files of the sessions it stopped open for their interrupted calls to read. */
const RETIRED_OUTPUT_MS = 60_000;

function closeOutput(state: SessionState): void {
  if (state.out.fd === null) return;
  closeSync(state.out.fd);
  state.out.fd = null;
}

/**
 * `true` while any process of group `pgid` is alive. A zombie is not: in subprocess mode a command's shell whose
 * nsenter (the group leader) died with it is reaped by the machine's pid 1, which may take its time or never come.
 */
export function groupAlive(pgid: number): boolean {
  if (pgid <= 0) return false;
  try {
    process.kill(-pgid, 0);
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === "EPERM";
  }
  return groupHasLiving(pgid);
}

/**
 * A remote command is stopped by closing ssh's stdin: the wrapper kills the command's group on the remote host,
 * then exits, and so does ssh. Waiting for that (REMOTE_STOP_MS at most, as a dead connection never answers)
 * means a cancelled turn is reported only once its remote command is gone, not just the local ssh.
 */
async function stopRemote(state: SessionState): Promise<void> {
  if (!state.remote || state.exit !== null) return;
  state.child.stdin?.end();
  await Promise.race([state.exited, sleep(REMOTE_STOP_MS)]);
}

/** Writes a frame to a remote command's wrapper unless its stdin is closed or closing. */
function sendFrame(child: ChildProcess, frame: Buffer): void {
  const stdin = child.stdin;
  if (stdin && stdin.writable && !stdin.writableEnded) stdin.write(frame);
}

async function killGroup(pgid: number, exited: Promise<ShellExit>): Promise<void> {
  if (!groupAlive(pgid)) return;
  signalGroup(pgid, "SIGTERM");
  const deadline = Date.now() + KILL_GRACE_MS;
  while (groupAlive(pgid) && Date.now() < deadline) await sleep(POLL_MS);
  if (groupAlive(pgid)) signalGroup(pgid, "SIGKILL");
  await Promise.race([exited, sleep(1000)]);
}
