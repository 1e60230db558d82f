import type { ModelConfig } from "@starling/protocol";
import type { ImageProvider } from "./image-types.js";
import type { SearchProvider } from "./search-types.js";
import type { HttpProviderOptions } from "./http-chat-provider.js";
import { createImageProvider, createProvider, createSearchProvider, isImageProviderType } from "./registry.js";
import type { ModelProvider } from "./types.js";

/**
 * Helper roles, named after the config fields `session_defaults.<role>_tool_model`. The host
 * sends `initialize.helperModels` keyed by these field names (`search_tool_model`, …), with
 * `"<alias>:self"` already resolved to the session's model.
 */
export const HELPER_ROLES = ["search", "image", "pdf", "audio", "image_generation"] as const;
export type HelperRole = (typeof HELPER_ROLES)[number];

/** The `initialize.helperModels` key for a role, e.g. `search` → `search_tool_model`. */
export function helperModelKey(role: HelperRole): `${HelperRole}_tool_model` {
  return `${role}_tool_model`;
}

/**
 * What tools use to reach helper models (ToolContext carries one). Providers are built lazily on
 * first use and reused. A helper whose provider_type cannot serve its role is treated as absent
 * (the config loader warned about it).
 */
export interface HelperModels {
  /** The configured helper model for `role`; undefined when none is set (the reference's "self"). */
  config(role: HelperRole): ModelConfig | undefined;
  /** The `search_tool_model` when it is a brave_search model; undefined otherwise: use the keyless fallback. */
  search(): SearchProvider | undefined;
  /**
   * The image generator: `image_generation_tool_model` when it is an `openai_image` model, else the
   * session's model when that is one; undefined when neither can generate images.
   */
  imageGenerator(): ImageProvider | undefined;
  /**
   * A chat model for `image`/`pdf`/`audio` analysis: the role's helper when configured, else the
   * session's own model.
   */
  chat(role: "image" | "pdf" | "audio"): ModelProvider;
}

/**
 * HelperModels over `initialize.helperModels` (keyed by `<role>_tool_model`; other keys are
 * ignored) and the session's own model. `env` is where API keys are read (the worker passes
 * `initialize.secrets` merged over its environment).
 */
export function createHelperModels(
  main: ModelConfig,
  helperModels: Readonly<Record<string, ModelConfig>> | undefined,
  env: NodeJS.ProcessEnv,
  providerOptions?: HttpProviderOptions,
): HelperModels {
  const cache = new Map<string, unknown>();
  const once = <T>(key: string, build: () => T): T => {
    if (!cache.has(key)) cache.set(key, build());
    return cache.get(key) as T;
  };
  const config = (role: HelperRole): ModelConfig | undefined => helperModels?.[helperModelKey(role)];
  return {
    config,
    search() {
      // A chat model here (upgraded PartyClaw configs; the loader warned) cannot search: use the fallback.
      const model = config("search");
      return model?.provider_type === "brave_search" ? once("search", () => createSearchProvider(model, env)) : undefined;
    },
    imageGenerator() {
      const helper = config("image_generation");
      const model = [helper, main].find((m) => m !== undefined && isImageProviderType(m.provider_type));
      return model ? once("image_generation", () => createImageProvider(model, env)) : undefined;
    },
    chat(role) {
      const model = config(role);
      return once(`chat:${model ? role : "main"}`, () => createProvider(model ?? main, env, providerOptions));
    },
  };
}
