import path from "node:path";
import { listDir, pathExists, readJsonFile } from "../fs-utils.js";
import type { StellaclawChannel, StellaclawChat, StellaclawChatState, StellaclawCronTask } from "./import-file.js";
import { isRecord, optBoolean, optIdString, optInteger, optString } from "./json-narrow.js";

/** `<workdir>/.log/stellaclaw`: where Stellaclaw keeps its host state. */
export function stellaclawLogDir(dir: string): string {
  return path.join(dir, ".log", "stellaclaw");
}

/** Reads a JSON file, turning a parse error into a warning instead of failing the upgrade. */
async function readLenient(file: string, warnings: string[]): Promise<unknown> {
  try {
    return await readJsonFile(file);
  } catch (error) {
    warnings.push((error as Error).message);
    return undefined;
  }
}

export interface ConversationIds {
  nextIndexByChannel: Record<string, number>;
  /** `<channel>::<chat id>` → conversation id. */
  mappings: Map<string, string>;
}

/** `conversation_ids.json`: `{next_index_by_channel: {ch: n}, mappings: {"ch::chat": "ch-000001"}}`. */
export async function readConversationIds(dir: string, warnings: string[]): Promise<ConversationIds> {
  const file = path.join(stellaclawLogDir(dir), "conversation_ids.json");
  const data = await readLenient(file, warnings);
  const result: ConversationIds = { nextIndexByChannel: {}, mappings: new Map() };
  if (data === undefined) return result;
  if (!isRecord(data)) {
    warnings.push(`${file}: expected an object`);
    return result;
  }
  const next = data["next_index_by_channel"];
  if (isRecord(next)) {
    for (const channel of Object.keys(next).sort()) {
      const n = optInteger(next[channel]);
      if (n !== undefined) result.nextIndexByChannel[channel] = n;
    }
  }
  const mappings = data["mappings"];
  if (isRecord(mappings)) {
    for (const key of Object.keys(mappings).sort()) {
      const id = optString(mappings[key]);
      if (id !== undefined && key.includes("::")) result.mappings.set(key, id);
      else warnings.push(`${file}: skipped mapping ${JSON.stringify(key)}`);
    }
  }
  return result;
}

const CHAT_STATES: Record<string, StellaclawChatState> = {
  Pending: "pending",
  Approved: "approved",
  Rejected: "rejected",
};

/** Every `channels/<channel id>/security.json`: admins and per-chat approval states. */
export async function readChannels(dir: string, warnings: string[]): Promise<StellaclawChannel[]> {
  const channelsDir = path.join(stellaclawLogDir(dir), "channels");
  const channels: StellaclawChannel[] = [];
  for (const channelId of await listDir(channelsDir)) {
    const file = path.join(channelsDir, channelId, "security.json");
    if (!(await pathExists(file))) continue;
    const data = await readLenient(file, warnings);
    if (!isRecord(data)) {
      if (data !== undefined) warnings.push(`${file}: expected an object`);
      continue;
    }
    const adminUserIds: number[] = [];
    const admins = data["admin_user_ids"];
    for (const admin of Array.isArray(admins) ? admins : []) {
      const id = optInteger(admin);
      if (id === undefined) warnings.push(`${file}: skipped admin id ${JSON.stringify(admin)}`);
      else adminUserIds.push(id);
    }
    const chats: StellaclawChat[] = [];
    const chatMap = isRecord(data["chats"]) ? data["chats"] : {};
    for (const chatId of Object.keys(chatMap).sort()) {
      const record = chatMap[chatId];
      const stateName = isRecord(record) ? optString(record["state"]) : undefined;
      const state = stateName === undefined ? undefined : CHAT_STATES[stateName];
      if (!isRecord(record) || state === undefined) {
        warnings.push(`${file}: skipped chat ${chatId} with unknown state`);
        continue;
      }
      const chat: StellaclawChat = { chatId, state };
      const lastTitle = optString(record["last_title"]);
      const lastUser = optString(record["last_user"]);
      if (lastTitle !== undefined) chat.lastTitle = lastTitle;
      if (lastUser !== undefined) chat.lastUser = lastUser;
      chats.push(chat);
    }
    channels.push({ channelId, adminUserIds: adminUserIds.sort((a, b) => a - b), chats });
  }
  return channels;
}

/** `cron_tasks.json`: `{next_index, tasks: {cron_0001: {...}}}`. */
export async function readCronTasks(dir: string, warnings: string[]): Promise<StellaclawCronTask[]> {
  const file = path.join(stellaclawLogDir(dir), "cron_tasks.json");
  const data = await readLenient(file, warnings);
  if (!isRecord(data) || !isRecord(data["tasks"])) {
    if (data !== undefined) warnings.push(`${file}: expected {"tasks": {...}}`);
    return [];
  }
  const tasks = data["tasks"];
  const result: StellaclawCronTask[] = [];
  for (const key of Object.keys(tasks).sort()) {
    const task = tasks[key];
    const parsed = isRecord(task) ? parseCronTask(key, task) : undefined;
    if (parsed === undefined) warnings.push(`${file}: skipped cron task ${key} (missing fields)`);
    else result.push(parsed);
  }
  return result;
}

function parseCronTask(key: string, task: Record<string, unknown>): StellaclawCronTask | undefined {
  const conversationId = optString(task["conversation_id"]);
  const channelId = optString(task["channel_id"]);
  const platformChatId = optIdString(task["platform_chat_id"]);
  const schedule = optString(task["schedule"]);
  const text = optString(task["task"]);
  if (!conversationId || !channelId || !platformChatId || !schedule || !text) return undefined;
  const result: StellaclawCronTask = {
    id: optString(task["id"]) ?? key,
    conversationId,
    channelId,
    platformChatId,
    name: optString(task["name"]) ?? key,
    description: optString(task["description"]) ?? "",
    schedule,
    timezone: optString(task["timezone"]) ?? "Asia/Shanghai",
    task: text,
    enabled: optBoolean(task["enabled"]) ?? true,
  };
  const model = optString(task["model"]);
  const nextRunAt = optString(task["next_run_at"]);
  const lastRunAt = optString(task["last_run_at"]);
  if (model !== undefined) result.model = model;
  if (nextRunAt !== undefined) result.nextRunAt = nextRunAt;
  if (lastRunAt !== undefined) result.lastRunAt = lastRunAt;
  return result;
}
