import path from "node:path";
import { readJsonFile, writeFileIfChanged } from "../fs-utils.js";
import { workdirPaths } from "../layout.js";
import { isRecord } from "./json-narrow.js";

/** File name, under `state/import/`, of what migration 0002 found in a Stellaclaw workdir. */
export const STELLACLAW_IMPORT_FILE = "stellaclaw.json";

export type StellaclawChatState = "pending" | "approved" | "rejected";

export interface StellaclawChat {
  chatId: string;
  state: StellaclawChatState;
  lastTitle?: string;
  lastUser?: string;
}

export interface StellaclawChannel {
  channelId: string;
  adminUserIds: number[];
  chats: StellaclawChat[];
}

export interface StellaclawConversation {
  conversationId: string;
  channelId: string;
  platformChatId: string;
  /** Model alias of `session_profile.main_model` (absent when it was an inline model config). */
  mainModel?: string;
  modelSelectionPending?: boolean;
  /** Per-conversation sandbox override (`subprocess` or `bubblewrap`). */
  sandboxMode?: string;
  /** `tool_remote_mode` `fixed_ssh`. */
  remote?: { host: string; path: string };
  reasoningEffort?: string;
  foregroundSessionId?: string;
  /** Stellaclaw session histories kept in the workspace, as paths relative to it (`.log/stellaclaw/<session id>`). */
  legacySessionHistories: string[];
}

export interface StellaclawCronTask {
  id: string;
  conversationId: string;
  channelId: string;
  platformChatId: string;
  name: string;
  description: string;
  /** Seconds-first cron expression (6 or 7 fields). */
  schedule: string;
  timezone: string;
  task: string;
  model?: string;
  enabled: boolean;
  nextRunAt?: string;
  lastRunAt?: string;
}

/**
 * Host-level state of a Stellaclaw workdir, normalised for Starling's host to load into
 * its database (conversation ids, chat approvals, admins, cron tasks). The migration
 * cannot write the host LevelDB itself; the host imports this file on start, keyed by
 * conversation id / chat id so importing twice is harmless.
 */
export interface StellaclawImport {
  format: 1;
  stellaclawWorkdirVersion: string;
  nextIndexByChannel: Record<string, number>;
  conversations: StellaclawConversation[];
  channels: StellaclawChannel[];
  cronTasks: StellaclawCronTask[];
  /** What could not be read, one line each (also logged during the upgrade). */
  warnings: string[];
}

export function stellaclawImportPath(dir: string): string {
  return path.join(workdirPaths(dir).imports, STELLACLAW_IMPORT_FILE);
}

/** Writes the import file; a rerun that finds the same state leaves the file untouched. */
export async function writeStellaclawImport(dir: string, data: StellaclawImport): Promise<boolean> {
  return writeFileIfChanged(stellaclawImportPath(dir), `${JSON.stringify(data, null, 2)}\n`);
}

/** The import left by migration 0002, or `undefined` if this workdir never was a Stellaclaw one. */
export async function readStellaclawImport(dir: string): Promise<StellaclawImport | undefined> {
  const file = stellaclawImportPath(dir);
  const data = await readJsonFile(file);
  if (data === undefined) return undefined;
  if (
    !isRecord(data) ||
    data["format"] !== 1 ||
    !Array.isArray(data["conversations"]) ||
    !Array.isArray(data["channels"]) ||
    !Array.isArray(data["cronTasks"])
  ) {
    throw new Error(`${file}: not a Stellaclaw import file of format 1`);
  }
  return data as unknown as StellaclawImport;
}
