import { type ChildProcess, spawn } from "node:child_process";
import type { Socket } from "node:net";
import { accessSync, constants, existsSync, readdirSync, readFileSync, readlinkSync } from "node:fs";
import { delimiter, join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { pidNamespaceUnshareArgs } from "@starling/protocol";
import { ToolError } from "./errors.js";
import { procStat } from "./process-ledger.js";

/**
 * The PID namespace the subprocess-mode shell commands of one ShellSessions run in, so that `/cancel`
 * and the worker's death stop everything they started, however it left its process group (`env -i
 * setsid`, a double fork). Its init (pid 1 inside) is a shell that only waits on its stdin, a pipe from
 * the worker, and reaps orphans meanwhile; commands are entered into the namespace with `nsenter`. When
 * the init dies the kernel kills every process of the namespace: on `detach()`'s kill (SIGKILL to the init), and
 * when the worker dies (its end of the pipe closes, the init's `read` returns and it exits). A mount
 * namespace (mounts of the host still appear inside, `slave` propagation) carries the namespace's own
 * /proc, so `ps`, `pgrep` and `kill` agree on pids. Not a sandbox: a command still reaches everything
 * its user can, except processes outside the namespace.
 *
 * Made lazily at the first command, and again after a `detach()` or the init's death; shared by the commands of one
 * ShellSessions so a `server &` left by one command is still there (and visible) for the next, as
 * without the namespace. One namespace costs one `unshare` (~15 ms, once); a command one `nsenter` (~1.5 ms).
 */
export class PidNamespace {
  private keeper: Promise<Keeper | null> | null = null;

  /** `nsenter …` to put before a command's argv, or null when namespaces cannot be made (then commands run as before). */
  async prefix(cwd: string): Promise<string[] | null> {
    for (let deaths = 0; ; ) {
      const pending = (this.keeper ??= startKeeper());
      const keeper = await pending;
      if (this.keeper !== pending) continue; // detached by killAll or replaced meanwhile: the current one (or a new one) it is
      if (!keeper) {
        this.keeper = null; // nothing to keep: the next command asks again (the reason is logged once)
        return null;
      }
      if (keeper.alive()) return keeper.enter(cwd);
      // Its init was killed from outside (or the OOM killer): nsenter would fail on its /proc entry, so a new one.
      this.keeper = null;
      void keeper.kill();
      if (++deaths === 3) throw new ToolError("failed", "The PID namespace for shell commands died three times right after it was made (is something killing `unshare` or its child?); set sandbox.pid_namespace to false to run commands without one.");
    }
  }

  /**
   * Detaches the current namespace: commands started from now on get a new one (a turn that starts while `/cancel`
   * still stops the old one's processes is not killed with it). The returned function kills every process in the
   * detached one (SIGKILL to its init) and waits until the kernel has.
   */
  detach(): () => Promise<void> {
    const pending = this.keeper;
    this.keeper = null;
    return async () => {
      const keeper = await pending;
      if (keeper) await keeper.kill();
    };
  }
}

interface Tools {
  unshare: string;
  nsenter: string;
  /** Not root: a user namespace that maps the user to itself comes first (util-linux ≥ 2.38). */
  userNs: boolean;
}

/** Set by the first attempt in this process: what works, or why namespaces are not used (logged once, never tried again). */
let support: Tools | { problem: string } | null = null;

async function startKeeper(): Promise<Keeper | null> {
  const tools = support ?? locate();
  if ("problem" in tools) return unsupported(tools.problem);
  try {
    const keeper = await Keeper.start(tools);
    support = tools;
    return keeper;
  } catch (error) {
    return support ? null : unsupported((error as Error).message);
  }
}

function unsupported(problem: string): null {
  if (!support) {
    support = { problem };
    console.warn(
      `starling: shell commands run without a PID namespace (${problem}); /cancel and a worker's death stop only ` +
        "what stays in a command's process group or keeps its STARLING_PROCESS_TAG (docs/SECURITY.md \"What leaves the process group\").",
    );
  }
  return null;
}

function locate(): Tools | { problem: string } {
  const unshare = onPath("unshare");
  const nsenter = onPath("nsenter");
  if (!unshare || !nsenter) return { problem: "unshare or nsenter (util-linux) not found on PATH" };
  return { unshare, nsenter, userNs: process.geteuid?.() !== 0 };
}

const INIT_SHELL = existsSync("/bin/bash") ? "/bin/bash" : "/bin/sh";
/** The init: says it is ready (the namespace's /proc is mounted by then), then waits for the worker's pipe to close. bash reaps orphans meanwhile. */
const INIT_SCRIPT = "echo ready; read -r _; exit 0";
const READY_TIMEOUT_MS = 5_000;
/** How long killing a namespace waits for its processes to be gone, and how often it looks. */
const KILL_WAIT_MS = 2_000;
const POLL_MS = 20;
/** include/linux/sched.h: the process is exiting. */
const PF_EXITING = 0x4;
/** SHLVL: bash reads ~/.bashrc when its stdin is a socket (node's pipes are) and SHLVL is unset (tool-process.ts). */
const INIT_ENV = { PATH: process.env.PATH ?? "/usr/bin:/bin", SHLVL: "1" };

class Keeper {
  private constructor(
    private readonly child: ChildProcess,
    private readonly init: number,
    /** The init's start time: a pid reused by another process after the init's death is not taken for it. */
    private readonly initStart: number,
    /** `readlink /proc/<init>/ns/pid`: tells its processes from others. */
    private readonly nsLink: string,
    private readonly nsenter: string,
    private readonly userNs: boolean,
    private readonly exited: Promise<void>,
  ) {}

  static async start({ unshare, nsenter, userNs }: Tools): Promise<Keeper> {
    const args = [...pidNamespaceUnshareArgs(userNs), INIT_SHELL, "-c", INIT_SCRIPT];
    // Detached: a signal to the worker's own group (a Ctrl-C in a terminal) must not end the namespace behind the worker's back.
    const child = spawn(unshare, args, { stdio: ["pipe", "pipe", "pipe"], detached: true, env: INIT_ENV });
    const exited = new Promise<void>((resolve) => {
      child.once("exit", () => resolve());
      child.once("error", () => resolve());
    });
    let stderr = "";
    child.stderr?.on("data", (chunk: Buffer) => (stderr = (stderr + chunk.toString()).slice(-500)));
    const ready = await new Promise<boolean>((resolve) => {
      const timer = setTimeout(() => resolve(false), READY_TIMEOUT_MS);
      child.stdout?.once("data", () => {
        clearTimeout(timer);
        resolve(true);
      });
      void exited.then(() => {
        clearTimeout(timer);
        resolve(false);
      });
    });
    const init = ready && child.pid !== undefined ? initPid(child.pid) : null;
    const initStart = init === null ? undefined : procStat(init)?.startTicks;
    const nsLink = init === null ? undefined : nsOf(init);
    if (init === null || initStart === undefined || nsLink === undefined) {
      child.kill("SIGKILL");
      await exited;
      throw new Error(`unshare failed: ${stderr.trim().split("\n").pop() || "no namespace came up"}`);
    }
    // Kept open (a write to a closed pipe would kill unshare, and with it the namespace), but not keeping the worker alive.
    for (const stream of [child.stdin, child.stdout, child.stderr]) (stream as Socket | null)?.unref();
    child.unref();
    return new Keeper(child, init, initStart, nsLink, nsenter, userNs, exited);
  }

  /** Looked up in /proc, not taken from unshare's exit event: that comes only after the init's death, one event-loop turn or more later. */
  alive(): boolean {
    if (this.child.exitCode !== null || this.child.signalCode !== null) return false;
    // An init that is exiting (PF_EXITING) is still listed, with state S, while the kernel kills the namespace.
    const stat = procStat(this.init);
    return stat !== null && stat.startTicks === this.initStart && (stat.flags & PF_EXITING) === 0 && stat.state !== "Z" && stat.state !== "X";
  }

  enter(cwd: string): string[] {
    const ns = `/proc/${this.init}/ns`;
    return [
      this.nsenter,
      ...(this.userNs ? [`--user=${ns}/user`, "--preserve-credentials"] : []),
      `--pid=${ns}/pid`, `--mount=${ns}/mnt`, `--wd=${cwd}`, "--",
    ];
  }

  /**
   * SIGKILL to the init, after which the kernel SIGKILLs everything in the namespace. Waits until unshare exited or no
   * process of the namespace but its init is left alive. Not for unshare alone: the init's exit also waits until every
   * zombie of the namespace is reaped, and a command whose nsenter died first (a signal to its group reaches both) is
   * reaped by the machine's pid 1, late or, when that is a program that reaps nothing (node as a container's init), never.
   */
  async kill(): Promise<void> {
    try {
      process.kill(this.init, "SIGKILL");
    } catch {
      // Already gone.
    }
    this.child.stdin?.destroy();
    let gone = false;
    void this.exited.then(() => (gone = true));
    const deadline = Date.now() + KILL_WAIT_MS;
    while (!gone && livingIn(this.nsLink, this.init)) {
      if (Date.now() >= deadline) {
        console.warn(`starling: processes of a killed PID namespace (init ${this.init}) were still alive ${KILL_WAIT_MS} ms after its SIGKILL; /cancel went on without them (a process stuck in the kernel?)`);
        return;
      }
      await sleep(POLL_MS);
    }
  }
}

/** Whether a process other than `except` in PID namespace `nsLink` is still alive (a zombie is not). */
function livingIn(nsLink: string, except: number): boolean {
  let names: string[];
  try {
    names = readdirSync("/proc");
  } catch {
    return false;
  }
  for (const name of names) {
    const pid = Number(name);
    if (!Number.isInteger(pid) || pid === except || nsOf(pid) !== nsLink) continue;
    const state = procStat(pid)?.state;
    if (state !== undefined && state !== "Z" && state !== "X") return true;
  }
  return false;
}

function nsOf(pid: number): string | undefined {
  try {
    return readlinkSync(`/proc/${pid}/ns/pid`);
  } catch {
    return undefined;
  }
}

/** The pid (in the worker's namespace) of unshare's one child, the namespace's init. */
function initPid(unsharePid: number): number | null {
  try {
    const children = readFileSync(`/proc/${unsharePid}/task/${unsharePid}/children`, "utf8").trim().split(" ").map(Number);
    return children.length === 1 && Number.isInteger(children[0]) && children[0]! > 0 ? children[0]! : null;
  } catch {
    return null;
  }
}

function onPath(name: string): string | null {
  for (const dir of (process.env.PATH ?? "/usr/bin:/bin").split(delimiter)) {
    if (!dir) continue;
    const path = join(dir, name);
    try {
      accessSync(path, constants.X_OK);
      return path;
    } catch {
      // Not here.
    }
  }
  return null;
}
