import type { ModelConfig, TranscriptMessage } from "@starling/protocol";
import { expect } from "vitest";
import { ProviderError, type ModelRequest } from "../../src/providers/index.js";
import type { ToolSchema } from "../../src/tools/types.js";

export const TEST_KEY = "sk-test-secret-123";
export const ENV = { FAKE_API_KEY: TEST_KEY };

export function createModelConfig(url: string, overrides: Partial<ModelConfig> = {}): ModelConfig {
  return {
    provider_type: "open_router_completion",
    model_name: "fake/model",
    url,
    api_key_env: "FAKE_API_KEY",
    capabilities: ["chat"],
    conn_timeout: 5,
    retry_mode: { random_interval: { max_interval_secs: 0, max_retries: 2 } },
    ...overrides,
  };
}

let index = 0;
export function message(role: TranscriptMessage["role"], content: TranscriptMessage["content"], extra: Partial<TranscriptMessage> = {}): TranscriptMessage {
  return { index: index++, role, time: "2025-01-02T03:04:05Z", content, ...extra };
}

export function userText(text: string): TranscriptMessage {
  return message("user", [{ type: "text", text }]);
}

/** A tool definition for requests whose history holds tool calls (Anthropic refuses tool blocks without tools). */
export const LS_TOOL: ToolSchema = { name: "ls", description: "List a folder.", parameters: { type: "object", properties: { path: { type: "string" } } } };

export function createRequest(messages: TranscriptMessage[] = [userText("hello")], overrides: Partial<ModelRequest> = {}): ModelRequest {
  return { system: "You are a test.", messages, tools: [], ...overrides };
}

export function signal(): AbortSignal {
  return new AbortController().signal;
}

/** The ProviderError a promise rejects with (fails the test if it resolves). */
export async function rejection(promise: Promise<unknown>): Promise<ProviderError> {
  const error = await promise.then(
    () => expect.fail("expected a rejection"),
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(ProviderError);
  return error as ProviderError;
}
