// A raw vscode-jsonrpc client over a child's stdio, for the round-trip floor and for
// talking to the worker without the WorkerClient wrapper (no zod parse on the client side).
import { spawn, type ChildProcess } from "node:child_process";
import { createRequire } from "node:module";
import { fileURLToPath } from "node:url";
import { childEnv } from "./proc.js";

/** The slice of vscode-jsonrpc's MessageConnection the bench uses. */
export interface RawConnection {
  sendRequest(method: string, params: unknown): Promise<unknown>;
  listen(): void;
  dispose(): void;
}

interface JsonRpcNode {
  createMessageConnection(reader: unknown, writer: unknown): RawConnection;
  StreamMessageReader: new (stream: NodeJS.ReadableStream) => unknown;
  StreamMessageWriter: new (stream: NodeJS.WritableStream) => unknown;
}

// vscode-jsonrpc is a dependency of @starling/protocol (test/ does not list it); resolve it from there.
const requireFromProtocol = createRequire(fileURLToPath(new URL("../../packages/protocol/package.json", import.meta.url)));
const jsonrpc = requireFromProtocol("vscode-jsonrpc/node") as JsonRpcNode;

export interface RawChild {
  child: ChildProcess;
  connection: RawConnection;
  exited: Promise<void>;
  close(): Promise<void>;
}

/** Spawns `node <args>` and connects a bare MessageConnection to its stdin/stdout. */
export function spawnRaw(args: string[], cwd?: string, env: NodeJS.ProcessEnv = childEnv()): RawChild {
  const child = spawn(process.execPath, args, { cwd, env, stdio: ["pipe", "pipe", "ignore"], detached: true });
  const connection = jsonrpc.createMessageConnection(
    new jsonrpc.StreamMessageReader(child.stdout!),
    new jsonrpc.StreamMessageWriter(child.stdin!),
  );
  connection.listen();
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  return {
    child,
    connection,
    exited,
    async close() {
      const timer = setTimeout(() => child.kill("SIGKILL"), 3000);
      child.stdin?.end();
      await exited;
      clearTimeout(timer);
      connection.dispose();
    },
  };
}

export const ECHO_SERVER = fileURLToPath(new URL("./echo-server.mjs", import.meta.url));
