import type { ModelConfig } from "@starling/protocol";

/** A chat-completions model config for the media tests (never called: normalisation only reads its settings). */
export const mediaModel = (extra: Partial<ModelConfig> = {}): ModelConfig => ({
  provider_type: "open_router_completion",
  model_name: "m",
  url: "http://127.0.0.1:1/v1/chat/completions",
  capabilities: ["chat"],
  ...extra,
});
