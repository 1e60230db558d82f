// /reasoning: a conversation's reasoning effort over its model config's, sent as `reasoning.effort` to an
// OpenAI-style model and as `output_config.effort` to Claude; stored with the conversation (a host restart keeps it),
// shown by /status, refused with the levels the model takes, and named when /model switches to a model that does not
// take it.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startFakeAnthropic, type FakeAnthropic } from "../fakes/anthropic-server.js";
import type { RecordedRequest } from "../fakes/scripted-server.js";
import { privateChat } from "../fakes/telegram-api.js";
import { MODEL_KEY, startE2E, type E2E } from "./fixture.js";

const chat = privateChat(831, "Reasoning");
let anthropic: FakeAnthropic;
let e2e: E2E;

const lastBody = (requests: RecordedRequest[]) => requests.at(-1)!.body as Record<string, unknown>;

beforeAll(async () => {
  anthropic = await startFakeAnthropic({ apiKey: MODEL_KEY, responder: () => ({ text: "claude answers" }) });
  e2e = await startE2E({
    responder: () => ({ text: "router answers" }),
    config: () => ({
      adminUserIds: [chat.id],
      mainModel: { reasoning: { max_tokens: 2000, exclude: true } },
      extraModels: {
        claude: { provider_type: "claude_code", model_name: "claude-sonnet-4-5", url: anthropic.url, api_key_env: "FAKE_MODEL_KEY", capabilities: ["chat"], retry_mode: "once" },
      },
      extra: { default_profile: { main_model: "main" } },
    }),
  });
});

afterAll(async () => {
  await e2e?.close();
  await anthropic?.close();
});

describe("/reasoning", { timeout: 90_000 }, () => {
  it("sets the effort the model is asked for, keeps it across a restart, and says when a model does not take it", async () => {
    expect(await e2e.ask(chat, "hello")).toBe("router answers");
    expect(lastBody(e2e.model.requests)["reasoning"]).toEqual({ max_tokens: 2000, exclude: true });
    expect(await e2e.ask(chat, "/reasoning")).toBe(
      "Reasoning effort: the provider's default. Model: main (open_router_completion). Use /reasoning none|minimal|low|medium|high|xhigh or /reasoning default.",
    );

    expect(await e2e.ask(chat, "/reasoning max")).toBe(
      'Unknown reasoning effort "max" for main (open_router_completion). Use /reasoning none|minimal|low|medium|high|xhigh or /reasoning default.',
    );
    expect(await e2e.ask(chat, "/reasoning HIGH")).toBe("Reasoning effort set to high for main. It applies from now on.");
    expect(await e2e.ask(chat, "think harder")).toBe("router answers");
    // The config's other reasoning fields stay, but not its token budget: OpenRouter takes an effort or a budget.
    expect(lastBody(e2e.model.requests)["reasoning"]).toEqual({ effort: "high", exclude: true });
    expect(await e2e.ask(chat, "/status")).toMatch(/^Reasoning effort: high \(\/reasoning\)$/m);

    // Stored with the conversation: a restarted host's worker gets it too.
    await e2e.stop("SIGTERM");
    e2e.start();
    expect(await e2e.ask(chat, "after the restart")).toBe("router answers");
    expect(lastBody(e2e.model.requests)["reasoning"]).toEqual({ effort: "high", exclude: true });

    // Claude takes Anthropic's levels, as output_config.effort; "minimal" is not one of them.
    expect(await e2e.ask(chat, "/reasoning minimal")).toBe("Reasoning effort set to minimal for main. It applies from now on.");
    expect(await e2e.ask(chat, "/model claude")).toBe(
      "Model set to claude (claude-sonnet-4-5). Its reasoning effort minimal (/reasoning) is not one this model takes: its provider's default applies.",
    );
    expect(await e2e.ask(chat, "hello claude")).toBe("claude answers");
    expect(lastBody(anthropic.requests)["output_config"]).toBeUndefined();
    expect(await e2e.ask(chat, "/status")).toMatch(/^Reasoning effort: minimal \(\/reasoning\) is not one this model takes; its provider's default applies$/m);
    expect(await e2e.ask(chat, "/reasoning max")).toBe(
      "Reasoning effort set to max for claude. It applies from now on. max works only on some Claude models: if turns now fail, send /reasoning default.",
    );
    expect(await e2e.ask(chat, "think hard, claude")).toBe("claude answers");
    expect(lastBody(anthropic.requests)["output_config"]).toEqual({ effort: "max" });

    expect(await e2e.ask(chat, "/reasoning default")).toBe("Reasoning effort set to the default (its provider's default) for claude. It applies from now on.");
    expect(await e2e.ask(chat, "/model main")).toMatch(/^Model set to main \(fake-model\)\.$/);
    expect(await e2e.ask(chat, "budget again")).toBe("router answers");
    expect(lastBody(e2e.model.requests)["reasoning"]).toEqual({ max_tokens: 2000, exclude: true });
    expect(await e2e.ask(chat, "/model claude")).toMatch(/^Model set to claude/);
    expect(await e2e.ask(chat, "/reasoning default")).toBe("Reasoning effort is already the default (its provider's default).");
    expect(await e2e.ask(chat, "plain again")).toBe("claude answers");
    expect(lastBody(anthropic.requests)["output_config"]).toBeUndefined();
    expect(await e2e.ask(chat, "/status")).not.toMatch(/^Reasoning effort/m);
  });
});
