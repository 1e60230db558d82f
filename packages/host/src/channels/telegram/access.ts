import type { ChatRef, UserRef } from "../channel.js";
import { HostKeys, type HostStore, type HostTransaction } from "../../state/host-store.js";
import type { ChatAccess, ChatRecord } from "../../state/records.js";
import { queueOutbound } from "../../state/outbox.js";

/** How often a pending or rejected chat is reminded that it cannot use the bot. */
export const ACCESS_NOTICE_INTERVAL_MS = 60 * 60 * 1000;

export const ACCESS_TEXTS = {
  pending: "This chat is waiting for approval by the bot's admin. You will be told here once it is approved.",
  rejected: "This chat was not approved by the bot's admin, so the bot does not answer here.",
  approved: "This chat was approved by the bot's admin. You can start talking to me now.",
  rejectedNow: "The bot's admin has rejected this chat; the bot will not answer here.",
  bootstrapAdmin:
    "You are now the admin of this bot (you were the first to write to it). Other chats need your approval: you will be asked here.",
} as const;

export type AccessDecision =
  /** The chat may talk to the bot. `bootstrap`: the sender has just become the first admin. */
  | { kind: "allowed"; bootstrap: boolean }
  | { kind: "blocked"; access: Exclude<ChatAccess, "approved">; firstContact: boolean };

/**
 * Chat approval (ARCHITECTURE §8): admins are the configured ones plus the stored ones; with no
 * admin at all, the first private-chat user becomes admin. An admin's private chat and the
 * configured `allowedChatIds` are approved; every other chat is pending until an admin approves it.
 */
export class AccessControl {
  private readonly lastNotice = new Map<string, number>();

  constructor(
    private readonly channelId: string,
    private readonly store: HostStore,
    private readonly configuredAdmins: readonly string[],
    private readonly allowedChatIds: readonly string[],
    private readonly now: () => number = Date.now,
  ) {}

  admins(): string[] {
    return [...new Set([...this.configuredAdmins, ...this.store.admins(this.channelId)])];
  }

  isAdmin(userId: string): boolean {
    return this.admins().includes(userId);
  }

  status(chatId: string): ChatAccess | undefined {
    return this.store.chat(this.channelId, chatId)?.access;
  }

  /**
   * Decides whether `chat` may use the bot and writes what that decision implies into `tx`:
   * a new admin, a new chat record, the waiting notice and the admins' approval request.
   * Notices to blocked chats are rate-limited (in memory) to one per `ACCESS_NOTICE_INTERVAL_MS`.
   */
  decide(tx: HostTransaction, chat: ChatRef, user: UserRef): AccessDecision {
    const isPrivate = chat.type === "private" && chat.chatId === user.userId;
    const record = this.store.chat(this.channelId, chat.chatId);
    if (isPrivate && this.admins().length === 0 && user.userId !== "0") {
      tx.put(HostKeys.admins(this.channelId), [...this.store.admins(this.channelId), user.userId]);
      this.putRecord(tx, chat, "approved", record);
      this.notify(tx, chat.chatId, ACCESS_TEXTS.bootstrapAdmin);
      return { kind: "allowed", bootstrap: true };
    }
    const preApproved = (isPrivate && this.isAdmin(user.userId)) || this.allowedChatIds.includes(chat.chatId);
    if (preApproved) {
      if (record?.access !== "approved" || record.title !== chat.title) this.putRecord(tx, chat, "approved", record);
      return { kind: "allowed", bootstrap: false };
    }
    if (record?.access === "approved") {
      if (record.title !== chat.title && chat.title) this.putRecord(tx, chat, "approved", record);
      return { kind: "allowed", bootstrap: false };
    }
    if (!record) {
      this.putRecord(tx, chat, "pending", undefined);
      this.notify(tx, chat.chatId, ACCESS_TEXTS.pending);
      this.lastNotice.set(chat.chatId, this.now());
      const request = approvalRequest(chat, user);
      for (const admin of this.admins()) this.notify(tx, admin, request.text, request.buttons);
      return { kind: "blocked", access: "pending", firstContact: true };
    }
    const access = record.access;
    const last = this.lastNotice.get(chat.chatId);
    if (last === undefined || this.now() - last >= ACCESS_NOTICE_INTERVAL_MS) {
      this.lastNotice.set(chat.chatId, this.now());
      this.notify(tx, chat.chatId, access === "pending" ? ACCESS_TEXTS.pending : ACCESS_TEXTS.rejected);
    }
    return { kind: "blocked", access, firstContact: false };
  }

  /** Sets a chat's access (admin decision); the chat is told. Unknown chats get a record (pre-approval). */
  setAccess(tx: HostTransaction, chatId: string, access: Exclude<ChatAccess, "pending">): ChatRecord {
    const record = this.store.chat(this.channelId, chatId);
    const chat: ChatRef = { channelId: this.channelId, chatId, type: record?.type ?? "unknown", title: record?.title ?? "" };
    const next = this.putRecord(tx, chat, access, record);
    this.lastNotice.delete(chatId);
    if (record?.access !== access) this.notify(tx, chatId, access === "approved" ? ACCESS_TEXTS.approved : ACCESS_TEXTS.rejectedNow);
    return next;
  }

  chats(): ChatRecord[] {
    return this.store.chats(this.channelId);
  }

  private putRecord(tx: HostTransaction, chat: ChatRef, access: ChatAccess, previous: ChatRecord | undefined): ChatRecord {
    const record: ChatRecord = {
      channelId: this.channelId,
      chatId: chat.chatId,
      access,
      title: chat.title || previous?.title || "",
      type: chat.type === "unknown" && previous ? previous.type : chat.type,
      firstSeenAt: previous?.firstSeenAt ?? new Date(this.now()).toISOString(),
      ...(previous?.migratedTo !== undefined ? { migratedTo: previous.migratedTo } : {}),
    };
    tx.put(HostKeys.chat(this.channelId, chat.chatId), record);
    return record;
  }

  private notify(tx: HostTransaction, chatId: string, text: string, buttons?: { text: string; data: string }[][]): void {
    const conversationId = this.store.conversationOfChat(this.channelId, chatId)?.id ?? "";
    queueOutbound(tx, { channelId: this.channelId, chatId, conversationId }, { kind: "text", text, replyMarkup: buttons });
  }
}

/** The message admins get when a new chat asks for access, with approve/reject buttons. */
export function approvalRequest(chat: ChatRef, user: UserRef): { text: string; buttons: { text: string; data: string }[][] } {
  const where = chat.type === "private" ? `private chat with ${user.name}` : `${chat.type} "${chat.title}"`;
  return {
    text: [
      `A new chat is waiting for approval: ${where} (chat id ${chat.chatId}), first message from ${user.name} (user id ${user.userId}).`,
      `Approve: /admin_chat_approve ${chat.chatId}`,
      `Reject: /admin_chat_reject ${chat.chatId}`,
    ].join("\n"),
    buttons: [
      [
        { text: "Approve", data: `admin:approve:${chat.chatId}` },
        { text: "Reject", data: `admin:reject:${chat.chatId}` },
      ],
    ],
  };
}
