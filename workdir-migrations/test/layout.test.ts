import path from "node:path";
import { describe, expect, it } from "vitest";
import { conversationWorkspace, workdirPaths } from "../src/index.js";

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
