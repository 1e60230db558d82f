import { afterEach, describe, expect, it } from "vitest";
import { privateChat, startFakeTelegram, type FakeTelegram } from "../../../../test/fakes/telegram-api.js";
import { createHarness, type Harness } from "./harness.js";

// Scope: the command menus the channel sets (ARCHITECTURE §8): admin commands only in admins' chats,
// hidden commands nowhere, and no setMyCommands at a restart when nothing changed.

let fake: FakeTelegram;
let h: Harness;
afterEach(async () => {
  await h?.close();
  await fake?.close();
});

const names = (commands: { command: string }[] | undefined) => (commands ?? []).map((c) => c.command);

describe("command menu", () => {
  it("lists admin commands only in each admin's private chat, hides unavailable commands, and skips unchanged menus at a restart", async () => {
    fake = await startFakeTelegram();
    h = await createHarness(fake, { adminUserIds: ["42", "43"] });
    const base = h.controller.commands;
    h.controller.commands = () => [...base(), { command: "remote", description: "Remote workspace", hidden: true }];
    const channel = await h.startChannel();
    // Polling starts once the menus are set (and remembered).
    await fake.waitFor(() => fake.calls("getUpdates").length >= 1);
    expect(fake.commandsSet()).toHaveLength(3);
    const byScope = new Map(fake.commandsSet().map((r) => [JSON.stringify(r.scope ?? {}), r.commands]));
    expect(names(byScope.get(JSON.stringify({ type: "default" })))).toEqual(["status", "model", "help"]);
    for (const admin of [42, 43]) {
      expect(names(byScope.get(JSON.stringify({ type: "chat", chat_id: admin })))).toEqual([
        "status",
        "model",
        "help",
        "admin_chat_list",
        "admin_chat_approve",
        "admin_chat_reject",
      ]);
    }
    await channel.stop();
    // Same menus after a restart: Telegram is not asked again.
    const again = await h.startChannel();
    await fake.waitFor(() => fake.calls("getUpdates").length >= 2);
    await again.stop();
    expect(fake.commandsSet()).toHaveLength(3);
  });

  it("gives the first private user (the bootstrap admin) the admin menu, and removes it from a former admin", async () => {
    fake = await startFakeTelegram();
    h = await createHarness(fake, { adminUserIds: ["43"] });
    const first = await h.startChannel();
    await fake.waitFor(() => fake.calls("getUpdates").length >= 1);
    expect(fake.commandsSet()).toHaveLength(2);
    await first.stop();
    // 43 is no longer configured; nobody is admin, so the first private user becomes one.
    await h.startChannel({ adminUserIds: [] });
    await fake.waitFor(() => fake.calls("deleteMyCommands").length === 1);
    expect(fake.calls("deleteMyCommands")[0]!.params.scope).toEqual({ type: "chat", chat_id: 43 });
    fake.sendText(privateChat(77, "Zoe"), "hello");
    const menu = await fake.waitFor(() => fake.commandsSet().find((r) => r.scope?.chat_id === 77));
    expect(names(menu.commands)).toContain("admin_chat_approve");
    expect(names(fake.currentCommands())).not.toContain("admin_chat_approve");
  });
});
