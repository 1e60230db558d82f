import { describe, expect, it } from "vitest";
import { conversationRemote, describeRemote } from "../../src/conversations/remote-command.js";
import type { ConversationRecord } from "../../src/state/records.js";

describe("conversationRemote", () => {
  it("reads records written before the three modes existed: {host, path} is fixed, null is off", () => {
    const legacy = { remote: { host: "devbox", path: "/srv/app" } } as unknown as Pick<ConversationRecord, "remote">;
    expect(conversationRemote(legacy)).toEqual({ mode: "fixed", host: "devbox", path: "/srv/app" });
    expect(conversationRemote({ remote: null })).toEqual({ mode: "off" });
    expect(conversationRemote({} as Pick<ConversationRecord, "remote">)).toEqual({ mode: "off" });
  });

  it("passes the current shapes through and describes them for /status", () => {
    expect(conversationRemote({ remote: { mode: "selectable" } })).toEqual({ mode: "selectable" });
    const fixed = conversationRemote({ remote: { mode: "fixed", host: "devbox", path: "/srv/app" } });
    expect(describeRemote(fixed)).toBe("devbox:/srv/app (file tools and shell run there)");
    expect(describeRemote({ mode: "off" })).toBe("off");
  });
});
