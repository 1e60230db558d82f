import { spawn, type ChildProcess } from "node:child_process";
import type { Transport } from "@modelcontextprotocol/sdk/shared/transport.js";
import { deserializeMessage, serializeMessage } from "@modelcontextprotocol/sdk/shared/stdio.js";
import type { JSONRPCMessage } from "@modelcontextprotocol/sdk/types.js";
import type { ProcessLedger } from "../tools/process-ledger.js";
import { signalGroup } from "../tools/process-group.js";
import { stopTagged } from "../tools/process-tag.js";
import type { ToolCommand } from "../tools/tool-process.js";

const STDERR_TAIL_CHARS = 2000;
/** After the server process exits, how long its output may still be read before the pipes are dropped. */
const EXIT_DRAIN_MS = 500;
/** SIGTERM → SIGKILL grace for what the server started outside its group, and the /proc scan interval meanwhile. */
const TAGGED_GRACE_MS = 1000;
const TAGGED_POLL_MS = 20;
/**
 * The longest line (one JSON-RPC message) a stdio server may write. A result with an image or audio
 * carries it as base64 (4/3 of its size), so 16 MB leaves room for a ~12 MB file, more than the model
 * APIs take in one image, and above the SDK's own 10 MB; a server past it is treated as broken. The
 * transport holds at most this much of a server's output (one partial line), so a server that never
 * writes a newline cannot grow the worker's memory until the session's memory limit kills the worker.
 */
export const MCP_MAX_LINE_BYTES = 16 * 1024 * 1024;

/**
 * MCP over a child's stdin/stdout, started exactly as given (ToolProcessLauncher's command: allowlisted
 * environment, bwrap in bubblewrap mode). The SDK's own StdioClientTransport adds variables from the
 * worker's environment and leaves the process group alive, so Starling uses this one: the server runs in
 * its own process group, killed whole on close; its stderr is kept (a tail) for error messages. With a
 * `tag` (its PROCESS_TAG_VAR, already in the command's environment), what it started outside its group
 * (`setsid`, a daemon) is stopped with it too: on close and when the server exits. A cancelled call
 * does not stop anything: the server outlives its calls, and MCP cancellation tells it to stop the call.
 */
export class ChildStdioTransport implements Transport {
  onclose?: () => void;
  onerror?: (error: Error) => void;
  onmessage?: (message: JSONRPCMessage) => void;
  private child: ChildProcess | null = null;
  private readonly lines = new LineBuffer(MCP_MAX_LINE_BYTES);
  private stderr = "";
  private exit: string | null = null;
  private broken: string | null = null;

  /** `ledger` remembers the process group and tag scope, so a worker started after a `kill -9` of this one stops them. */
  constructor(
    private readonly command: ToolCommand,
    private readonly ledger?: ProcessLedger,
    private readonly tag?: { scope: string; tag: string },
  ) {}

  /** The last lines the server wrote to stderr. */
  stderrTail(): string {
    return this.stderr.trim();
  }

  /** How the process ended (`exit code 1`, `signal SIGKILL`), or null while it runs. */
  exitDescription(): string | null {
    return this.exit;
  }

  /** Why the transport stopped the server itself (it broke the protocol's limits), or null. */
  failure(): string | null {
    return this.broken;
  }

  /** Bytes of the server's output held while waiting for the end of a line (at most MCP_MAX_LINE_BYTES). */
  bufferedBytes(): number {
    return this.lines.size;
  }

  get pid(): number | null {
    return this.child?.pid ?? null;
  }

  start(): Promise<void> {
    if (this.child) throw new Error("ChildStdioTransport already started");
    const { program, args, env, cwd } = this.command;
    return new Promise((resolve, reject) => {
      const child = spawn(program, args, { env, cwd, stdio: ["pipe", "pipe", "pipe"], detached: true });
      this.child = child;
      child.once("error", (error) => {
        reject(error);
        this.onerror?.(error);
      });
      child.once("spawn", () => {
        if (child.pid) this.ledger?.record(child.pid, this.tag?.scope);
        resolve();
      });
      // The server is gone when its process exits, not when its pipes close: a child it started (same
      // process group) may hold stdout open for ever. So on exit the rest of the group is killed and, if
      // the pipes are still open shortly after (a member that left the group), they are dropped.
      let finished = false;
      const finish = (): void => {
        if (finished) return;
        finished = true;
        if (child.pid) this.ledger?.forget(child.pid);
        this.child = null;
        this.onclose?.();
      };
      child.once("exit", (code, signal) => {
        this.exit = signal ? `signal ${signal}` : `exit code ${code}`;
        signalGroup(child.pid, "SIGKILL");
        void this.stopTagged();
        const timer = setTimeout(() => {
          child.stdout?.destroy();
          child.stderr?.destroy();
          finish();
        }, EXIT_DRAIN_MS);
        child.once("close", () => clearTimeout(timer));
      });
      child.once("close", (code, signal) => {
        this.exit ??= signal ? `signal ${signal}` : `exit code ${code}`;
        finish();
      });
      child.stdin?.on("error", (error) => this.onerror?.(error));
      child.stdout?.on("data", (chunk: Buffer) => {
        if (this.broken) return;
        const fits = this.lines.push(chunk, (line) => {
          let message: JSONRPCMessage;
          try {
            message = deserializeMessage(line);
          } catch (error) {
            this.onerror?.(error instanceof Error ? error : new Error(String(error)));
            return;
          }
          this.onmessage?.(message);
        });
        if (fits) return;
        // Broken: stop reading and kill the group; the exit ends the transport (onclose) as for a crash.
        this.broken = `it sent more than ${MCP_MAX_LINE_BYTES / (1024 * 1024)} MB on stdout without a newline (the limit for one JSON-RPC message)`;
        this.lines.clear();
        // The kill first: with its stdout closed first, the server could die of the broken pipe (exit code 1)
        // before the signal, and its exit would not say it was killed.
        signalGroup(child.pid, "SIGKILL");
        child.stdout?.destroy();
      });
      child.stderr?.on("data", (chunk: Buffer) => {
        this.stderr = (this.stderr + chunk.toString("utf8")).slice(-STDERR_TAIL_CHARS);
      });
    });
  }

  send(message: JSONRPCMessage): Promise<void> {
    const stdin = this.child?.stdin;
    if (!stdin || stdin.destroyed) return Promise.reject(new Error("the MCP server process is not running"));
    return new Promise((resolve) => {
      if (stdin.write(serializeMessage(message))) resolve();
      else stdin.once("drain", resolve);
    });
  }

  /** Closes stdin, then kills the whole process group (TERM, KILL after 1 s). */
  async close(): Promise<void> {
    const child = this.child;
    if (!child) return;
    const closed = new Promise<void>((resolve) => child.once("close", () => resolve()));
    child.stdin?.end();
    signalGroup(child.pid, "SIGTERM");
    const timer = setTimeout(() => signalGroup(child.pid, "SIGKILL"), 1000);
    await Promise.all([Promise.race([closed, new Promise((r) => setTimeout(r, 3000).unref())]), this.stopTagged()]);
    clearTimeout(timer);
    this.lines.clear();
  }

  /** Stops every process carrying this server's tag (what left its group); nothing without a tag. */
  private async stopTagged(): Promise<void> {
    const own = this.tag?.tag;
    if (own) await stopTagged((tag) => tag === own, TAGGED_GRACE_MS, TAGGED_POLL_MS);
  }
}

/** Splits a byte stream into lines ("\n", an optional "\r" before it dropped), holding at most `max` bytes of a partial line. */
class LineBuffer {
  private chunks: Buffer[] = [];
  private bytes = 0;

  constructor(private readonly max: number) {}

  /** Calls `onLine` for each line `chunk` completes; false (and nothing more is read) when a line passes `max` bytes. */
  push(chunk: Buffer, onLine: (line: string) => void): boolean {
    let start = 0;
    for (let end = chunk.indexOf(10); end !== -1; end = chunk.indexOf(10, start)) {
      if (this.bytes + end - start > this.max) return false;
      const tail = chunk.subarray(start, end);
      const line = this.bytes > 0 ? Buffer.concat([...this.chunks, tail]) : tail;
      this.clear();
      start = end + 1;
      onLine(line.toString("utf8").replace(/\r$/, ""));
    }
    const rest = chunk.length - start;
    if (this.bytes + rest > this.max) return false;
    if (rest > 0) {
      this.chunks.push(chunk.subarray(start));
      this.bytes += rest;
    }
    return true;
  }

  get size(): number {
    return this.bytes;
  }

  clear(): void {
    this.chunks = [];
    this.bytes = 0;
  }
}
