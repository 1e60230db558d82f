import { spawn } from "node:child_process";
import { type RemoteMode, sshAliasProblem, sshConfigArgs, sshEnv } from "@starling/protocol";
import type { CommandReply } from "../channels/channel.js";
import { HostKeys } from "../state/host-store.js";
import type { ConversationRecord, RemoteSetting } from "../state/records.js";
import type { ConversationService } from "./conversation-service.js";
import { restartStoppedNote } from "./background-note.js";

/** Seconds `/remote <alias> <path>` waits for the host before it says it cannot reach it. */
const CHECK_CONNECT_TIMEOUT_S = 5;
const CHECK_TOTAL_MS = 10_000;

const USAGE =
  "Use /remote <ssh-alias> </absolute/path> (tools run there; the rest of the line is the path, quotes around it are removed), /remote selectable (tools take a remote alias), or /remote off.";

/**
 * The conversation's remote setting as the worker gets it (`initialize.remote`). Records written
 * before the three modes existed hold `{host, path}` (fixed) or null (off).
 */
export function conversationRemote(conversation: Pick<ConversationRecord, "remote">): RemoteMode {
  const stored = conversation.remote as RemoteSetting | { host: string; path: string } | null | undefined;
  if (!stored) return { mode: "off" };
  if ("mode" in stored) return stored;
  return { mode: "fixed", host: stored.host, path: stored.path };
}

export function describeRemote(mode: RemoteMode): string {
  if (mode.mode === "fixed") return `${mode.host}:${mode.path} (file tools and shell run there)`;
  if (mode.mode === "selectable") return "selectable (file tools and shell take an optional remote SSH alias)";
  return "off";
}

/** Quotes that may surround the path, opening → closing (phones type the curly ones). */
const QUOTES: Readonly<Record<string, string>> = { '"': '"', "'": "'", "\u201c": "\u201d", "\u2018": "\u2019" };

/**
 * What `/remote <arg>` asks for: `off`, `selectable`, or `<alias> <path>`, where the path is the rest of
 * the line (so it may hold spaces) and one pair of quotes around it is removed. A string is the reply
 * saying what is wrong.
 */
export function parseRemoteArg(arg: string): RemoteMode | string {
  const trimmed = arg.trim();
  if (trimmed === "off") return { mode: "off" };
  if (trimmed === "selectable") return { mode: "selectable" };
  const [, host = "", rest = ""] = /^(\S+)\s*([\s\S]*)$/.exec(trimmed) ?? [];
  if (!rest) return `Did not understand "/remote ${trimmed}": give an SSH alias and a folder, selectable or off. ${USAGE}`;
  const problem = sshAliasProblem(host);
  if (problem) return `"${host}" is not a usable SSH alias: ${problem}. Give a Host name from ~/.ssh/config.`;
  let path = rest.trim();
  const close = QUOTES[path[0] ?? ""];
  if (close !== undefined) {
    if (path.length < 2 || !path.endsWith(close)) {
      return `The remote path ${path} opens a quote that does not close at its end. Write /remote ${host} "/path with spaces", or leave the quotes out: the rest of the line is the path.`;
    }
    path = path.slice(1, -1);
  }
  if (/[\u0000-\u001f\u007f]/.test(path)) return `The remote path must be one line without control characters. ${USAGE}`;
  if (!path.startsWith("/")) return `The remote path must be absolute (start with /), not "${path}". ${USAGE}`;
  return { mode: "fixed", host, path };
}

/** `/remote`, `/remote off`, `/remote selectable`, `/remote <alias> <absolute path>`. */
export async function remoteCommand(service: ConversationService, conversation: ConversationRecord, arg: string): Promise<CommandReply> {
  const current = conversationRemote(conversation);
  if (!arg.trim()) return { text: `Remote: ${describeRemote(current)}.\n${USAGE}` };
  const next = parseRemoteArg(arg);
  if (typeof next === "string") return { text: next };
  if (next.mode === "fixed") {
    const unreachable = await checkRemoteFolder(next.host, next.path);
    if (unreachable) return { text: `Remote not changed: ${unreachable}` };
  }
  const stored: RemoteSetting | null = next.mode === "off" ? null : next;
  await service.store.commit("conversation", (tx) => tx.put(HostKeys.conversation(conversation.id), { ...conversation, remote: stored }));
  // The worker's tool catalog depends on the mode: stop it so the next message starts one with the new setting.
  const stopped = await service.supervisor.restart(conversation.foreground.sessionId);
  return { text: `Remote set to ${describeRemote(next)}. It applies from now on.${restartStoppedNote(stopped)}` };
}

/** `null` when `path` is a folder on `host` reachable with key login, else a sentence saying what failed. */
async function checkRemoteFolder(host: string, path: string): Promise<string | null> {
  const quoted = `'${path.replace(/'/g, `'\\''`)}'`;
  const args = [...sshConfigArgs(process.env), "-T", "-o", "BatchMode=yes", "-o", `ConnectTimeout=${CHECK_CONNECT_TIMEOUT_S}`, "--", host, `test -d ${quoted}`];
  const result = await new Promise<{ code: number | null; stderr: string }>((resolve) => {
    const child = spawn("ssh", args, { env: sshEnv(process.env), stdio: ["ignore", "ignore", "pipe"] });
    let stderr = "";
    child.stderr.on("data", (chunk: Buffer) => (stderr = (stderr + chunk.toString("utf8")).slice(-4_000)));
    const timer = setTimeout(() => child.kill("SIGKILL"), CHECK_TOTAL_MS);
    child.once("error", (error) => {
      clearTimeout(timer);
      resolve({ code: null, stderr: `${error.message} (is the OpenSSH client installed?)` });
    });
    child.once("close", (code) => {
      clearTimeout(timer);
      resolve({ code, stderr });
    });
  });
  if (result.code === 0) return null;
  if (result.code === 1) return `${path} is not a folder on ${host}. Create it first (ssh ${host} mkdir -p ${path}) or choose another path.`;
  const detail = result.stderr.trim().split("\n").filter(Boolean).slice(-2).join(" / ") || "no answer in time";
  return `cannot reach SSH host ${host}: ${detail}. Check that "${host}" is a Host in ~/.ssh/config of the user running Starling and that key login works without a password (ssh -o BatchMode=yes ${host} true).`;
}
