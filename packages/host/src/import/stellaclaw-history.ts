import { realpath } from "node:fs/promises";
import path from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { SEED_HISTORY_MAX_MESSAGES, seedMessageChars, type ContentItem, type SeedMessage } from "@starling/protocol";
import type { StellaclawFile, StellaclawItem, StellaclawMessage } from "./stellaclaw-session-file.js";

/** The budget when the conversation's model gives no `token_max_context`. */
export const DEFAULT_HISTORY_TOKENS = 128_000;

/** Stellaclaw's estimate: four characters a token, plus 32 a message. */
export function seedTokens(message: SeedMessage): number {
  return Math.ceil(seedMessageChars(message) / 4) + 32;
}

/**
 * The newest messages that fit 80 % of `contextTokens` (DEFAULT_HISTORY_TOKENS when unknown) and the protocol's
 * message count, never fewer than one.
 */
export function newestThatFit(messages: readonly SeedMessage[], contextTokens: number | undefined): SeedMessage[] {
  const budget = contextTokens === undefined ? DEFAULT_HISTORY_TOKENS : Math.floor(contextTokens * 0.8);
  let used = 0;
  let start = messages.length;
  while (start > 0 && messages.length - start < SEED_HISTORY_MAX_MESSAGES) {
    const cost = seedTokens(messages[start - 1]!);
    if (used + cost > budget && start < messages.length) break;
    used += cost;
    start--;
  }
  return messages.slice(start);
}

/** The label a carried history's leading assistant message gets as a user message. */
export const LEADING_ASSISTANT_LABEL = "[The assistant's earlier message, carried over from Stellaclaw:]";

/**
 * A history that starts with the assistant (Stellaclaw's compaction summary is an assistant message, and the budget
 * may cut before a user message) starts with a user message instead: some providers refuse a first message that is
 * not the user's (Anthropic on Bedrock and older API versions: "first message must use the \"user\" role").
 */
export function leadWithUser(messages: SeedMessage[]): SeedMessage[] {
  const [first, ...rest] = messages;
  if (first?.role !== "assistant") return messages;
  return [{ ...first, role: "user", content: [{ type: "text", text: LEADING_ASSISTANT_LABEL }, ...first.content] }, ...rest];
}

/**
 * A Stellaclaw file as the workspace has it now: its path inside the workspace (the workdir may have been
 * moved since, so a path that names the conversation's folder is looked up in the current one), or
 * undefined when it is not there or leads outside the workspace.
 */
async function fileInWorkspace(file: StellaclawFile, workspace: string, conversationId: string): Promise<string | undefined> {
  if (!file.uri.startsWith("file:") || (file.state !== undefined && file.state !== null)) return undefined;
  let recorded: string;
  try {
    recorded = fileURLToPath(file.uri);
  } catch {
    return undefined;
  }
  const marker = `${path.sep}${conversationId}${path.sep}`;
  const tail = recorded.lastIndexOf(marker);
  const candidates = [recorded, ...(tail >= 0 ? [path.join(workspace, recorded.slice(tail + marker.length))] : [])];
  const root = await realpath(workspace);
  for (const candidate of candidates) {
    const real = await realpath(candidate).catch(() => undefined);
    const relative = real === undefined ? ".." : path.relative(root, real);
    // Named under the workspace path the worker is given, not by the resolved one.
    if (relative !== "" && !relative.startsWith("..") && !path.isAbsolute(relative)) return path.join(workspace, relative);
  }
  return undefined;
}

function fileNote(file: StellaclawFile): string {
  return `[file ${file.name ?? path.posix.basename(file.uri)} (${file.uri}): not found in the workspace]`;
}

async function fileItem(file: StellaclawFile, workspace: string, conversationId: string): Promise<ContentItem> {
  const found = await fileInWorkspace(file, workspace, conversationId);
  if (found === undefined) return { type: "text", text: fileNote(file) };
  return { type: "file", uri: pathToFileURL(found).href, ...(file.name ? { name: file.name } : {}), ...(file.media_type ? { mediaType: file.media_type } : {}) };
}

/** One Stellaclaw item as Starling content, as Stellaclaw renders a message: tool calls and results as text; reasoning dropped. */
async function convertItem(item: StellaclawItem, workspace: string, conversationId: string): Promise<ContentItem[]> {
  switch (item.type) {
    case "context":
      return item.payload.text.trim() ? [{ type: "text", text: item.payload.text }] : [];
    case "file":
      return [await fileItem(item.payload, workspace, conversationId)];
    case "tool_call":
      return [{ type: "text", text: `[tool_call ${item.payload.tool_name}] ${item.payload.arguments.text}` }];
    case "tool_result": {
      const { context, file } = item.payload.result;
      const out: ContentItem[] = [{ type: "text", text: `[tool_result ${item.payload.tool_name}] ${context?.text ?? ""}`.trimEnd() }];
      if (file) out.push(await fileItem(file, workspace, conversationId));
      return out;
    }
    default:
      return [];
  }
}

/** Stellaclaw's working history as seed messages, empty ones dropped; `fallbackTime` for a message that gave none. */
export async function convertStellaclawHistory(
  messages: readonly StellaclawMessage[],
  workspace: string,
  conversationId: string,
  fallbackTime: string,
): Promise<SeedMessage[]> {
  const out: SeedMessage[] = [];
  for (const m of messages) {
    const content: ContentItem[] = [];
    for (const item of m.data) content.push(...(await convertItem(item, workspace, conversationId)));
    if (content.length === 0) continue;
    out.push({ role: m.role, ...(m.user_name ? { userName: m.user_name } : {}), time: m.message_time || fallbackTime, content });
  }
  return out;
}
