// One test's world for a chat provider at the worker: a fake model speaking that provider's wire
// format, a workspace, and the workers started on them (all cleaned up when the test ends).
import type { InitializeParams, WorkerClient } from "@starling/protocol";
import type { BaseReply, ScriptedServer } from "../fakes/scripted-server.js";
import { modelConfig, startWorker, tempWorkspace, type WorkerUnderTest } from "./harness.js";

/** A fake model server as the tests use it (the chat-completions fake has no `origin`). */
export type WireFake<R> = Omit<ScriptedServer<R>, "origin"> & { url: string };

export interface WireEnv<R extends BaseReply> {
  fake: WireFake<R>;
  dir: string;
  /** A worker on this fake; `fast`: 0.5 s for headers and for silence mid-stream, so stalls show in tests; `model`: more model fields; `init`: more `initialize` params. */
  start(options?: { fast?: boolean; model?: Record<string, unknown>; init?: Partial<InitializeParams> }): Promise<WorkerUnderTest>;
}

export interface WireModel<R extends BaseReply> {
  providerType: "claude_code" | "open_router_responses" | "open_router_completion";
  modelName?: string;
  startFake(): Promise<WireFake<R>>;
}

export async function wireEnv<R extends BaseReply>(
  ctx: { onTestFinished: (fn: () => Promise<void>) => void },
  model: WireModel<R>,
  replies: R[] = [],
): Promise<WireEnv<R>> {
  const fake = await model.startFake();
  fake.push(...replies);
  const ws = tempWorkspace();
  const live = new Set<WorkerClient>();
  ctx.onTestFinished(async () => {
    for (const client of live) client.kill("SIGKILL");
    await Promise.all([...live].map((client) => client.exited));
    await fake.close();
    ws.cleanup();
  });
  return {
    fake,
    dir: ws.dir,
    start: ({ fast = false, model: fields = {}, init = {} } = {}) => {
      const limits = fast ? { conn_timeout: 0.5, stream_idle_timeout: 0.5 } : {};
      const config = { ...modelConfig(fake.url), provider_type: model.providerType, model_name: model.modelName ?? "fake-model", ...limits, ...fields };
      return startWorker({ workspace: ws.dir, modelUrl: fake.url, init: { ...init, model: config } }, live);
    },
  };
}
