// A channel id may contain dots (the config allows it): its conversations still reach their sessions.
import { afterAll, beforeAll, expect, it } from "vitest";
import { privateChat } from "../fakes/telegram-api.js";
import { startE2E, type E2E } from "./fixture.js";

const chat = privateChat(301, "Dotted");
let e2e: E2E;

beforeAll(async () => {
  e2e = await startE2E({ responder: () => ({ text: "Answered through a dotted channel." }), config: { adminUserIds: [chat.id], channel: { id: "tg.main" } } });
});

afterAll(async () => {
  await e2e?.close();
});

it("answers in a channel whose id contains a dot", { timeout: 60_000 }, async () => {
  e2e.send(chat, "hello");
  await e2e.waitText(chat.id, /^Answered through a dotted channel\.$/);
  expect(e2e.model.requests.length).toBe(1);
});
