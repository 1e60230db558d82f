import path from "node:path";
import { describe, expect, it } from "vitest";
import { conversationWorkspace, sanitiseSessionId, sessionStateDir, workdirPaths } from "../src/index.js";

describe("layout paths", () => {
  it("places conversation workspaces under conversations/", () => {
    expect(conversationWorkspace("/srv/starling", "telegram-000001")).toBe("/srv/starling/conversations/telegram-000001");
    expect(conversationWorkspace("rel", "t-000002")).toBe(path.resolve("rel", "conversations", "t-000002"));
  });

  it.each(["..", ".", "", "a/b", "../x", "a\\b", "x y"])("refuses conversation id %j", (id) => {
    expect(() => conversationWorkspace("/w", id)).toThrow(/invalid conversation id/);
  });

  it("names the fixed folders", () => {
    const paths = workdirPaths("/w");
    expect(paths).toMatchObject({
      versionFile: "/w/WORKDIR_VERSION",
      hostDb: "/w/state/host",
      hostLog: "/w/logs/host.log",
      skills: "/w/rundir/.skill",
      shared: "/w/rundir/shared",
      conversations: "/w/conversations",
    });
  });
});

describe("sanitiseSessionId", () => {
  it("keeps Starling session ids unchanged", () => {
    for (const id of ["telegram-000001.foreground", "tg_main-000001.background.0001", "a-000001.subagent.0012"]) {
      expect(sanitiseSessionId(id)).toBe(id);
    }
  });

  it("replaces unsafe characters like Stellaclaw", () => {
    expect(sanitiseSessionId("a/b:c d")).toBe("a_b_c_d");
    expect(sanitiseSessionId("ünï")).toBe("_n_");
  });

  it("never yields . or .. or an empty name", () => {
    expect(sanitiseSessionId("")).toBe("_");
    expect(sanitiseSessionId(".")).toBe("_");
    expect(sanitiseSessionId("..")).toBe("__");
  });

  it("caps long ids and keeps them distinct", () => {
    const a = sanitiseSessionId(`${"x".repeat(300)}a`);
    const b = sanitiseSessionId(`${"x".repeat(300)}b`);
    expect(a.length).toBe(200);
    expect(a).not.toBe(b);
  });

  it("builds the session state folder", () => {
    expect(sessionStateDir("/w/conversations/c-000001", "c-000001.foreground")).toBe(
      "/w/conversations/c-000001/.starling/sessions/c-000001.foreground",
    );
  });
});
