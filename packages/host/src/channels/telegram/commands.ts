import type { CommandReply, InlineButton } from "../channel.js";
import type { AccessControl } from "./access.js";
import type { HostTransaction } from "../../state/host-store.js";

export interface ParsedCommand {
  /** Lower-case name without slash or @bot. */
  name: string;
  args: string;
  /** The `@botname` the command was addressed to, if any (compare with the bot's own username). */
  bot?: string;
}

/** `/cmd`, `/cmd args`, `/cmd@bot args`; null for anything else. */
export function parseCommand(text: string): ParsedCommand | null {
  const match = /^\/([A-Za-z0-9_]{1,64})(?:@([A-Za-z0-9_]{3,64}))?(?:\s+([\s\S]*))?$/.exec(text.trim());
  if (!match) return null;
  const [, name, bot, args] = match;
  return { name: name!.toLowerCase(), args: (args ?? "").trim(), ...(bot ? { bot } : {}) };
}

export const ADMIN_COMMANDS = [
  { command: "admin_chat_list", description: "Admin: list chats and their approval status" },
  { command: "admin_chat_approve", description: "Admin: approve a chat: /admin_chat_approve <chat id>" },
  { command: "admin_chat_reject", description: "Admin: reject a chat: /admin_chat_reject <chat id>" },
] as const;

export function isAdminCommand(name: string): boolean {
  return ADMIN_COMMANDS.some((c) => c.command === name);
}

const CHAT_ID = /^-?\d{1,20}$/;

/**
 * Runs an admin command inside `tx` (the caller checked the sender is an admin). `currentChatId`
 * lets an admin approve or reject the chat they write in without typing its id.
 */
export function runAdminCommand(
  access: AccessControl,
  tx: HostTransaction,
  name: string,
  args: string,
  currentChatId: string,
): CommandReply {
  if (name === "admin_chat_list") return { text: chatList(access) };
  const target = args.split(/\s+/)[0] || "";
  const chatId = target || currentChatId;
  const verb = name === "admin_chat_approve" ? "approve" : "reject";
  if (!CHAT_ID.test(chatId)) {
    return { text: `"${target}" is not a chat id. Usage: /admin_chat_${verb} <chat id> (see /admin_chat_list).` };
  }
  const before = access.status(chatId);
  const record = access.setAccess(tx, chatId, verb === "approve" ? "approved" : "rejected");
  const label = record.title ? ` (${record.title})` : before === undefined ? " (not seen yet; approved in advance)" : "";
  if (before === record.access) return { text: `Chat ${chatId}${label} was already ${record.access}.` };
  return { text: `${verb === "approve" ? "Approved" : "Rejected"} chat ${chatId}${label}.` };
}

function chatList(access: AccessControl): string {
  const chats = access.chats();
  const admins = access.admins();
  const lines = [`Admins: ${admins.length ? admins.join(", ") : "none"}`];
  if (!chats.length) return [...lines, "No chats have written to the bot yet."].join("\n");
  lines.push("Chats:");
  const order = { pending: 0, approved: 1, rejected: 2 } as const;
  for (const chat of [...chats].sort((a, b) => order[a.access] - order[b.access] || a.firstSeenAt.localeCompare(b.firstSeenAt))) {
    lines.push(`- ${chat.chatId}: ${chat.access} — ${chat.type}${chat.title ? ` "${chat.title}"` : ""}`);
  }
  if (chats.some((c) => c.access === "pending")) lines.push("", "Approve with /admin_chat_approve <chat id>, reject with /admin_chat_reject <chat id>.");
  return lines.join("\n");
}

/** `/start`: a greeting followed by the controller's help text. */
export function startReply(help: CommandReply, isAdmin: boolean): CommandReply {
  const greeting = isAdmin
    ? "Hello! I am your Starling agent. As admin you can also use /admin_chat_list, /admin_chat_approve and /admin_chat_reject."
    : "Hello! I am a Starling agent.";
  return { text: `${greeting}\n\n${help.text}`, buttons: help.buttons };
}

export function unknownCommandReply(name: string): CommandReply {
  return { text: `Unknown command /${name}. Try /help.` };
}

/** Telegram's `inline_keyboard` from the host's button rows. */
export function inlineKeyboard(buttons: InlineButton[][]): { inline_keyboard: { text: string; callback_data: string }[][] } {
  return { inline_keyboard: buttons.map((row) => row.map((b) => ({ text: b.text, callback_data: b.data.slice(0, 64) }))) };
}
