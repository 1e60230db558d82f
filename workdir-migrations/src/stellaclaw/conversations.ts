import path from "node:path";
import { ensureDir, ensureSymlink, isRealDirectory, listDir, pathExists, readJsonFile } from "../fs-utils.js";
import { isSafeFolderName, workdirPaths } from "../layout.js";
import type { MigrationContext } from "../migration.js";
import type { StellaclawConversation } from "./import-file.js";
import { isRecord, optBoolean, optIdString, optString } from "./json-narrow.js";

/**
 * Conversation folders of a Stellaclaw workdir: `conversations/<channel>-NNNNNN/`.
 * `sshfs-*` folders are remote mount points (possibly mounted) and are never entered.
 */
export async function listConversationFolders(dir: string): Promise<string[]> {
  const root = workdirPaths(dir).conversations;
  const result: string[] = [];
  for (const name of await listDir(root)) {
    if (name.startsWith("sshfs-") || !isSafeFolderName(name)) continue;
    const folder = path.join(root, name);
    if (!(await isRealDirectory(folder))) continue;
    if (/-\d{6}$/.test(name) || (await pathExists(path.join(folder, "conversation.json")))) result.push(name);
  }
  return result;
}

/** Settings of `conversation.json` that Starling carries over; `undefined` when the file is missing or unusable. */
export async function readConversationSettings(
  workspace: string,
  conversationId: string,
  warnings: string[],
): Promise<StellaclawConversation | undefined> {
  const file = path.join(workspace, "conversation.json");
  let data: unknown;
  try {
    data = await readJsonFile(file);
  } catch (error) {
    warnings.push((error as Error).message);
    return undefined;
  }
  if (data === undefined) return undefined;
  const channelId = isRecord(data) ? optString(data["channel_id"]) : undefined;
  const platformChatId = isRecord(data) ? optIdString(data["platform_chat_id"]) : undefined;
  if (!isRecord(data) || channelId === undefined || platformChatId === undefined) {
    warnings.push(`${file}: no channel_id/platform_chat_id; settings not imported`);
    return undefined;
  }
  const result: StellaclawConversation = {
    conversationId,
    channelId,
    platformChatId,
    legacySessionHistories: [],
  };
  const profile = data["session_profile"];
  const mainModel = isRecord(profile) ? profile["main_model"] : undefined;
  if (typeof mainModel === "string") result.mainModel = mainModel;
  else if (mainModel !== undefined) {
    warnings.push(`${file}: main_model is an inline config; pick the model again with /model`);
  }
  const pending = optBoolean(data["model_selection_pending"]);
  if (pending !== undefined) result.modelSelectionPending = pending;
  const sandbox = data["sandbox"];
  const sandboxMode = isRecord(sandbox) ? optString(sandbox["mode"]) : undefined;
  if (sandboxMode !== undefined) result.sandboxMode = sandboxMode;
  const remote = data["tool_remote_mode"];
  if (isRecord(remote) && remote["type"] === "fixed_ssh") {
    const host = optString(remote["host"]);
    const cwd = optString(remote["cwd"]) ?? optString(remote["path"]);
    if (host !== undefined && cwd !== undefined) result.remote = { host, path: cwd };
  }
  const effort = optString(data["reasoning_effort"]);
  if (effort !== undefined) result.reasoningEffort = effort;
  const binding = data["session_binding"];
  const foreground = isRecord(binding) ? optString(binding["foreground_session_id"]) : undefined;
  if (foreground !== undefined) result.foregroundSessionId = foreground;
  return result;
}

/** Session history folders Stellaclaw kept in the workspace (`.log/stellaclaw/<session id>/session.json`). */
export async function listLegacySessionHistories(workspace: string): Promise<string[]> {
  const logDir = path.join(workspace, ".log", "stellaclaw");
  const result: string[] = [];
  for (const name of await listDir(logDir)) {
    if (await pathExists(path.join(logDir, name, "session.json"))) result.push(`.log/stellaclaw/${name}`);
  }
  return result;
}

/**
 * Brings a Stellaclaw conversation root up to Starling's workspace layout:
 * `attachments/incoming`, `.skill`, `.starling/sessions`, and `shared` (plus
 * `.skill_memory` when the runtime folder exists) as links into this workdir's rundir.
 * Stellaclaw's links used the workdir path as typed on its command line, so after a move
 * or with a relative `--workdir` they dangle; they are re-pointed here.
 */
export async function repairWorkspace(dir: string, workspace: string, context: MigrationContext): Promise<void> {
  const paths = workdirPaths(dir);
  for (const sub of [["attachments", "incoming"], [".skill"], [".starling", "sessions"]]) {
    await ensureDir(path.join(workspace, ...sub));
  }
  const links: Array<[string, string]> = [["shared", paths.shared]];
  const skillMemory = path.join(paths.rundir, "skill_memory");
  if (await isRealDirectory(skillMemory)) links.push([".skill_memory", skillMemory]);
  for (const [name, target] of links) {
    const outcome = await ensureSymlink(path.join(workspace, name), target);
    if (outcome === "replaced") context.log(`re-pointed ${path.join(workspace, name)} -> ${target}`);
    if (outcome === "kept-file") context.log(`left ${path.join(workspace, name)} alone: a file where a link belongs`);
  }
}
