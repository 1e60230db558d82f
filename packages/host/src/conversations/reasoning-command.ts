import { ClaudeEffort, type ModelConfig } from "@starling/protocol";
import type { CommandReply } from "../channels/channel.js";
import { HostKeys } from "../state/host-store.js";
import type { ConversationRecord } from "../state/records.js";
import { restartStoppedNote } from "./background-note.js";
import type { ConversationService } from "./conversation-service.js";

/** OpenAI-style reasoning effort (`reasoning.effort`: OpenRouter chat completions and Responses, codex). */
const CHAT_EFFORTS = ["none", "minimal", "low", "medium", "high", "xhigh"] as const;
/** Anthropic's effort (`output_config.effort`, the model config's `effort` on claude_code). */
const CLAUDE_EFFORTS = ClaudeEffort.options;

/** Whether some chat model's provider takes `effort` (a Stellaclaw import carries only those). */
export function knownEffort(effort: string): boolean {
  return (CHAT_EFFORTS as readonly string[]).includes(effort) || (CLAUDE_EFFORTS as readonly string[]).includes(effort);
}

/** The efforts a model's provider takes. */
export function effortLevels(model: ModelConfig): readonly string[] {
  return model.provider_type === "claude_code" ? CLAUDE_EFFORTS : CHAT_EFFORTS;
}

/** The model config's `reasoning` object (empty when it has none). */
function reasoningOf(model: ModelConfig): Record<string, unknown> {
  const reasoning = model.reasoning;
  return reasoning && typeof reasoning === "object" && !Array.isArray(reasoning) ? (reasoning as Record<string, unknown>) : {};
}

/** The effort the model config itself asks for (null: the provider's default). */
function configuredEffort(model: ModelConfig): string | null {
  if (model.provider_type === "claude_code") return model.effort ?? null;
  const effort = reasoningOf(model)["effort"];
  return typeof effort === "string" ? effort : null;
}

/**
 * The model a conversation's worker is started with: its `/reasoning` effort over the model config's. An effort the
 * model's provider does not take (set for another model before a `/model`) is not applied; /status says so.
 */
export function withReasoningEffort(model: ModelConfig, effort: string | null | undefined): ModelConfig {
  if (!effort || !effortLevels(model).includes(effort)) return model;
  if (model.provider_type === "claude_code") return { ...model, effort: effort as ModelConfig["effort"] };
  // OpenRouter takes an effort or a max_tokens budget, not both, and `enabled: false` would turn the effort off.
  const { max_tokens: _budget, enabled: _enabled, ...rest } = reasoningOf(model);
  return { ...model, reasoning: { ...rest, effort } };
}

/** /status's line; none while neither the conversation nor the model config sets an effort. */
export function reasoningStatusLines(conversation: ConversationRecord, model: ModelConfig | undefined): string[] {
  const set = conversation.reasoningEffort;
  if (!model) return set ? [`Reasoning effort: ${set} (/reasoning)`] : [];
  const own = configuredEffort(model);
  if (!set) return own ? [`Reasoning effort: ${own} (the model's config)`] : [];
  if (!effortLevels(model).includes(set)) return [`Reasoning effort: ${set} (/reasoning) is not one this model takes; ${describeDefault(own)} applies`];
  return [`Reasoning effort: ${set} (/reasoning)`];
}

function describeDefault(own: string | null): string {
  return own ? `its config's ${own}` : "its provider's default";
}

/** The conversation's model as its worker gets it (the first chat model until one is chosen). */
function conversationModel(service: ConversationService, conversation: ConversationRecord): { alias: string; model: ModelConfig } | null {
  const alias = conversation.modelAlias ?? Object.keys(service.settings.chatModels)[0];
  const model = alias ? service.settings.chatModels[alias] : undefined;
  return alias && model ? { alias, model } : null;
}

/**
 * `/reasoning [level | default]`: how hard this conversation's model thinks, over its config's `reasoning.effort`
 * (Anthropic: `effort`). Stored with the conversation; the worker restarts with it (a running turn goes on under
 * it, as after /model).
 */
export async function reasoningCommand(service: ConversationService, conversation: ConversationRecord, arg: string): Promise<CommandReply> {
  const found = conversationModel(service, conversation);
  if (!found) return { text: "This conversation has no chat model yet: pick one with /model first." };
  const { alias, model } = found;
  const levels = effortLevels(model);
  const usage = `Use /reasoning ${levels.join("|")} or /reasoning default.`;
  const own = configuredEffort(model);
  const wanted = arg.trim().toLowerCase();
  if (!wanted) {
    const current = reasoningStatusLines(conversation, model)[0] ?? "Reasoning effort: the provider's default";
    return { text: `${current}. Model: ${alias} (${model.provider_type}). ${usage}` };
  }
  if (wanted !== "default" && !levels.includes(wanted)) {
    return { text: `Unknown reasoning effort "${arg.trim()}" for ${alias} (${model.provider_type}). ${usage}` };
  }
  const effort = wanted === "default" ? null : wanted;
  if ((conversation.reasoningEffort ?? null) === effort) {
    return { text: `Reasoning effort is already ${effort ?? `the default (${describeDefault(own)})`}.` };
  }
  await service.store.commit("conversation", (tx) => {
    const next: ConversationRecord = { ...conversation };
    if (effort) next.reasoningEffort = effort;
    else delete next.reasoningEffort;
    tx.put(HostKeys.conversation(conversation.id), next);
  });
  const stopped = await service.supervisor.restart(conversation.foreground.sessionId);
  const now = effort ?? `the default (${describeDefault(own)})`;
  // Anthropic's top two levels exist only on some models; others refuse every call with them.
  const some = model.provider_type === "claude_code" && (effort === "xhigh" || effort === "max") ? ` ${effort} works only on some Claude models: if turns now fail, send /reasoning default.` : "";
  return { text: `Reasoning effort set to ${now} for ${alias}. It applies from now on.${some}${restartStoppedNote(stopped)}` };
}

/** Follows /model's reply when the conversation's /reasoning effort is not one the new model takes. */
export function effortAfterModelChange(conversation: ConversationRecord, model: ModelConfig): string {
  const set = conversation.reasoningEffort;
  if (!set || effortLevels(model).includes(set)) return "";
  return ` Its reasoning effort ${set} (/reasoning) is not one this model takes: ${describeDefault(configuredEffort(model))} applies.`;
}
