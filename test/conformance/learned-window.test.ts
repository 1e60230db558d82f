// A model without `token_max_context` learns its window from the first refusal that states it. The window
// is kept in the session's store for that model: a restarted worker (idle shutdown, crash, /model switch
// and back) compacts before the history passes it instead of sending a request the provider refuses again.
import { describe, expect, it } from "vitest";
import type { RecordedRequest } from "../fakes/openai-server.js";
import { modelConfig, newEnv, until, userMessage, type WorkerUnderTest } from "./harness.js";
import { isSummaryRequest } from "./model-script.js";
import { ended, windowedModel, words } from "./windowed-model.js";

const WINDOW = 12_000;
const BIGGER = "bigger-model";

/** Starts a worker on the fake with `modelName` (no `token_max_context`) and sends ~2k-token messages, one turn each. */
async function conversation(ctx: Parameters<typeof newEnv>[0], window: (req: RecordedRequest) => number) {
  const model = windowedModel(window);
  const { fake, start } = await newEnv(ctx, { responder: model });
  let turn = 0;
  const worker = (modelName = "fake-model", env?: NodeJS.ProcessEnv) => start({ env, init: { model: { ...modelConfig(fake.url), model_name: modelName } } });
  const say = async (w: WorkerUnderTest, text = words(8_000, `message ${turn + 1}`)) => {
    turn++;
    await w.client.enqueue(userMessage(`m${turn}`, text));
    await ended(w, turn);
  };
  /** Grows the history until the provider refused a request as too long (the window is learned from it). */
  const growUntilRefused = async (w: WorkerUnderTest) => {
    while (model.refused.length === 0 && turn < 30) await say(w);
    expect(model.refused.length, "a request was refused as too long").toBe(1);
    expect(w.eventsOf("compacted").length, "the refusal made the worker compact").toBe(1);
  };
  const restart = async (w: WorkerUnderTest, modelName?: string) => {
    w.client.kill("SIGKILL");
    await w.exited();
    return worker(modelName);
  };
  const next = () => ++turn;
  return { model, fake, worker, say, growUntilRefused, restart, next };
}

describe.concurrent("a context window learned from a refusal", () => {
  it("survives the worker: a restarted worker compacts before the history passes it, per model (a /model switch does not use it)", async (ctx) => {
    const { model, worker, say, growUntilRefused, restart } = await conversation(ctx, (req) => (req.body["model"] === BIGGER ? 1_000_000 : WINDOW));
    const first = await worker();
    await growUntilRefused(first);

    const second = await restart(first);
    for (let i = 0; i < 8; i++) await say(second);
    expect(second.eventsOf("turn_failed")).toEqual([]);
    expect(second.eventsOf("compacted").length, "the restarted worker compacted").toBeGreaterThan(0);
    expect(model.refused.length, "requests refused as too long in all (no second one)").toBe(1);

    // Another model has its own window: nothing compacts for it; the first model's window is still known after it.
    const bigger = await restart(second, BIGGER);
    for (let i = 0; i < 6; i++) await say(bigger);
    expect(bigger.eventsOf("compacted"), "the other model does not compact at the first one's window").toEqual([]);
    const back = await restart(bigger);
    await say(back, "and now?");
    expect(back.eventsOf("turn_failed")).toEqual([]);
    expect(back.eventsOf("compacted").length, "back on the first model, the long history is compacted first").toBe(1);
    expect(model.refused.length, "requests refused as too long in all").toBe(1);
  });

  it("a call that succeeded with more tokens than the learned window proves it wrong: it is forgotten, now and after a restart", async (ctx) => {
    let window = WINDOW;
    const { model, worker, say, growUntilRefused, restart } = await conversation(ctx, () => window);
    const first = await worker();
    await growUntilRefused(first);

    // The provider now takes far more (a larger model behind the same name) and says so in the usage it reports.
    window = 1_000_000;
    model.nextUsage = { prompt_tokens: 50_000, completion_tokens: 10 };
    await say(first, "short");
    for (let i = 0; i < 6; i++) await say(first);
    expect(first.eventsOf("compacted").length, "no compaction at the disproved window").toBe(1);

    const second = await restart(first);
    for (let i = 0; i < 4; i++) await say(second);
    expect(second.eventsOf("compacted"), "a restarted worker does not use the disproved window either").toEqual([]);
    expect(model.refused.length).toBe(1);
  });

  it("STARLING_CRASH_AT=compaction: the window rides in the compaction the refusal forced; a worker killed right after it still knows it", async (ctx) => {
    const { model, worker, say, next } = await conversation(ctx, () => WINDOW);
    const first = await worker("fake-model", { STARLING_CRASH_AT: "compaction" });
    let turnId = 0;
    while (model.refused.length === 0 && turnId < 30) {
      turnId = next();
      await first.client.enqueue(userMessage(`m${turnId}`, words(8_000, `message ${turnId}`))).catch(() => undefined);
      await Promise.race([ended(first, turnId), first.exited(60_000)]);
    }
    expect((await first.exited()).signal, "killed at the compaction commit").toBe("SIGKILL");
    expect(model.refused.length).toBe(1);

    const second = await worker();
    expect(second.init.unfinishedTurn?.reason).toBe("crash");
    await second.client.continue({ reason: "host continues after restart" });
    await ended(second, turnId);
    for (let i = 0; i < 8; i++) await say(second);
    expect(second.eventsOf("turn_failed")).toEqual([]);
    expect(second.eventsOf("compacted").length, "the restarted worker compacted").toBeGreaterThan(0);
    expect(model.refused.length, "requests refused as too long in all (no second one)").toBe(1);
  });

  it("a turn refused as too long with nothing to compact fails, and its window is stored with the failure", async (ctx) => {
    const { model, worker, say, restart } = await conversation(ctx, () => WINDOW);
    const first = await worker();
    await say(first, words(4 * WINDOW * 1.2, "a message longer than the window"));
    expect(first.eventsOf("turn_failed").map((e) => e.error.kind)).toEqual(["context_overflow"]);
    const refusedBefore = model.refused.length;
    expect(refusedBefore).toBeGreaterThan(0);

    const second = await restart(first);
    for (let i = 0; i < 8; i++) await say(second);
    // Turn 1's failure may come again (the worker was killed before the ack was stored).
    expect(second.eventsOf("turn_failed").filter((e) => e.turnId > 1)).toEqual([]);
    expect(second.eventsOf("compacted").length, "the restarted worker compacted").toBeGreaterThan(0);
    expect(model.refused.length, "no further request refused as too long").toBe(refusedBefore);
  });

  for (const end of ["cancel", "supersede"] as const) {
    it(`a turn ended by ${end === "cancel" ? "/cancel" : "a new message"} while the refusal's compaction runs still stores the window`, async (ctx) => {
      const { model, fake, worker, say, restart, next } = await conversation(ctx, () => WINDOW);
      model.hangFromSummary = 1;
      const first = await worker();
      let turnId = 0;
      while (model.refused.length === 0 && turnId < 30) {
        turnId = next();
        await first.client.enqueue(userMessage(`m${turnId}`, words(8_000, `message ${turnId}`)));
        await until(`turn ${turnId} ends or its compaction asks for a summary`, () => ended_(first, turnId) || fake.requests.some(isSummaryRequest));
      }
      expect(model.refused.length).toBe(1);
      await until("the refusal's compaction asks for its summary", () => fake.requests.some(isSummaryRequest));
      if (end === "cancel") {
        expect(await first.client.cancel()).toEqual({ accepted: true });
        await until("the turn is cancelled", () => first.eventsOf("turn_cancelled").some((e) => e.turnId === turnId));
      } else {
        await first.client.enqueue(userMessage(`m${next()}`, "short"));
        await until("the turn is superseded", () => first.eventsOf("turn_superseded").some((e) => e.turnId === turnId));
      }
      expect(first.eventsOf("compacted"), "the compaction never finished").toEqual([]);

      model.hangFromSummary = null;
      const second = await restart(first);
      for (let i = 0; i < 8; i++) await say(second);
      expect(second.eventsOf("turn_failed")).toEqual([]);
      expect(second.eventsOf("compacted").length, "the restarted worker compacted").toBeGreaterThan(0);
      expect(model.refused.length, "requests refused as too long in all (no second one)").toBe(1);
    });
  }
});

const ended_ = (w: WorkerUnderTest, turnId: number) => [...w.eventsOf("turn_completed"), ...w.eventsOf("turn_failed")].some((e) => e.turnId === turnId);
