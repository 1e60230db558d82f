// For the e2e tests of agents whose model alias disappears: a host with a second chat model `cheap`
// (same fake server), and the host killed and started again without it.
import { readFileSync, writeFileSync } from "node:fs";
import type { RecordedRequest, ScriptedReply } from "../fakes/openai-server.js";
import { startE2E, type E2E } from "./fixture.js";

export function startWithCheap(responder: (req: RecordedRequest) => ScriptedReply, adminId: number): Promise<E2E> {
  return startE2E({
    responder,
    config: ({ modelUrl }) => ({
      adminUserIds: [adminId],
      extraModels: { cheap: { provider_type: "open_router_completion", model_name: "cheap-model", url: modelUrl, api_key_env: "FAKE_MODEL_KEY", capabilities: ["chat"] } },
    }),
  });
}

/** Kills the host (SIGKILL), removes the model alias `cheap` from its config and starts it again. */
export async function restartWithoutCheap(e2e: E2E): Promise<void> {
  await e2e.stop("SIGKILL");
  const config = JSON.parse(readFileSync(e2e.configPath, "utf8")) as { models: Record<string, unknown> };
  delete config.models.cheap;
  writeFileSync(e2e.configPath, JSON.stringify(config, null, 2));
  e2e.start();
}
