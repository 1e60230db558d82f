import { ApiError, badRequest } from "../api-error.js";
import type { BotCommand, CommandsRecord } from "../types.js";
import type { MethodHandler } from "./context.js";

const CHAT_ACTIONS = new Set([
  "typing",
  "upload_photo",
  "record_video",
  "upload_video",
  "record_voice",
  "upload_voice",
  "upload_document",
  "choose_sticker",
  "find_location",
  "record_video_note",
  "upload_video_note",
]);

const getUpdates: MethodHandler = async ({ state, params, signal }) => {
  const queue = state.queue;
  if (state.webhookUrl !== "") {
    throw new ApiError(
      409,
      "Conflict: can't use getUpdates method while webhook is active; use deleteWebhook to delete the webhook first",
    );
  }
  queue.terminateActivePoll();
  const offset = params.integer("offset");
  if (offset !== undefined) queue.confirm(offset);
  const limit = Math.min(100, Math.max(1, params.integer("limit") ?? 100));
  const timeoutSeconds = Math.min(600, Math.max(0, params.integer("timeout") ?? 0));
  queue.setAllowed(params.json("allowed_updates"));
  const deadline = Date.now() + timeoutSeconds * 1000;
  for (;;) {
    const updates = queue.take(limit);
    if (updates.length > 0 || queue.isClosed || signal.aborted) return updates;
    const remaining = deadline - Date.now();
    if (remaining <= 0) return [];
    const outcome = await queue.wait(remaining, signal);
    if (outcome === "conflict") {
      throw new ApiError(
        409,
        "Conflict: terminated by other getUpdates request; make sure that only one bot instance is running",
      );
    }
    if (outcome === "closed") return [];
  }
};

const sendChatAction: MethodHandler = ({ state, params }) => {
  const chat = state.chat(params.string("chat_id"));
  const action = params.string("action");
  if (action === undefined || !CHAT_ACTIONS.has(action)) throw badRequest("wrong parameter action in request");
  state.chatActions.push({ chatId: chat.id, action, at: Date.now() });
  return true;
};

const answerCallbackQuery: MethodHandler = ({ state, params }) => {
  const id = params.string("callback_query_id") ?? "";
  if (state.callbackQueries.get(id) !== false) {
    throw badRequest("query is too old and response timeout expired or query ID is invalid");
  }
  state.callbackQueries.set(id, true);
  const text = params.string("text");
  const url = params.string("url");
  const showAlert = params.boolean("show_alert");
  state.callbackAnswers.push({
    callbackQueryId: id,
    at: Date.now(),
    ...(text !== undefined ? { text } : {}),
    ...(url !== undefined ? { url } : {}),
    ...(showAlert !== undefined ? { showAlert } : {}),
  });
  return true;
};

function scopeKey(scope: unknown, languageCode: string | undefined): string {
  return `${JSON.stringify(scope ?? { type: "default" })}|${languageCode ?? ""}`;
}

const setMyCommands: MethodHandler = ({ state, params }) => {
  const commands = params.json("commands");
  if (!Array.isArray(commands)) throw badRequest("can't parse commands JSON object");
  if (commands.length > 100) throw badRequest("too many commands");
  const checked: BotCommand[] = commands.map((item: unknown) => {
    const entry = (typeof item === "object" && item !== null ? item : {}) as Record<string, unknown>;
    const command = typeof entry["command"] === "string" ? entry["command"] : "";
    const description = typeof entry["description"] === "string" ? entry["description"] : "";
    if (!/^[a-z0-9_]{1,32}$/.test(command)) throw badRequest("BOT_COMMAND_INVALID");
    if (description.trim() === "" || description.length > 256) throw badRequest("BOT_COMMAND_DESCRIPTION_INVALID");
    return { command, description };
  });
  const scope = params.json("scope");
  const languageCode = params.string("language_code") || undefined;
  const record: CommandsRecord = { commands: checked, at: Date.now() };
  if (typeof scope === "object" && scope !== null) record.scope = scope as Record<string, unknown>;
  if (languageCode !== undefined) record.languageCode = languageCode;
  state.commandsHistory.push(record);
  state.commands.set(scopeKey(record.scope, languageCode), record);
  return true;
};

const getMyCommands: MethodHandler = ({ state, params }) =>
  state.commands.get(scopeKey(params.json("scope"), params.string("language_code") || undefined))?.commands ?? [];

const deleteMyCommands: MethodHandler = ({ state, params }) => {
  state.commands.delete(scopeKey(params.json("scope"), params.string("language_code") || undefined));
  return true;
};

export const botMethods: Record<string, MethodHandler> = {
  getMe: ({ state }) => ({
    ...state.bot,
    can_join_groups: true,
    can_read_all_group_messages: false,
    supports_inline_queries: false,
  }),
  getUpdates,
  deleteWebhook: ({ state, params }) => {
    state.webhookUrl = "";
    if (params.boolean("drop_pending_updates") === true) state.queue.dropPending();
    return true;
  },
  setWebhook: ({ state, params }) => {
    state.webhookUrl = params.string("url") ?? "";
    return true;
  },
  getWebhookInfo: ({ state }) => ({
    url: state.webhookUrl,
    has_custom_certificate: false,
    pending_update_count: state.queue.pendingCount(),
  }),
  getChat: ({ state, params }) => state.chat(params.string("chat_id")),
  sendChatAction,
  answerCallbackQuery,
  setMyCommands,
  getMyCommands,
  deleteMyCommands,
  logOut: () => true,
  close: () => true,
};
