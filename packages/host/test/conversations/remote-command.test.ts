import { describe, expect, it } from "vitest";
import { conversationRemote, describeRemote, parseRemoteArg } from "../../src/conversations/remote-command.js";
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

describe("parseRemoteArg", () => {
  it("takes the rest of the line as the path, so a path may hold spaces, with or without quotes around it", () => {
    const fixed = { mode: "fixed", host: "devbox", path: "/srv/my project" };
    expect(parseRemoteArg("devbox /srv/my project")).toEqual(fixed);
    expect(parseRemoteArg("devbox   /srv/my project  ")).toEqual(fixed);
    expect(parseRemoteArg('devbox "/srv/my project"')).toEqual(fixed);
    expect(parseRemoteArg("devbox '/srv/my project'")).toEqual(fixed);
    expect(parseRemoteArg("devbox \u201c/srv/my project\u201d")).toEqual(fixed);
    expect(parseRemoteArg("devbox /srv/app")).toEqual({ mode: "fixed", host: "devbox", path: "/srv/app" });
    expect(parseRemoteArg(" off ")).toEqual({ mode: "off" });
    expect(parseRemoteArg("selectable")).toEqual({ mode: "selectable" });
  });

  it("says what is wrong otherwise", () => {
    expect(parseRemoteArg('devbox "/srv/my project')).toBe(
      'The remote path "/srv/my project opens a quote that does not close at its end. Write /remote devbox "/path with spaces", or leave the quotes out: the rest of the line is the path.',
    );
    expect(parseRemoteArg("devbox my project")).toMatch(/^The remote path must be absolute \(start with \/\), not "my project"\./);
    expect(parseRemoteArg("devbox /a\nb")).toMatch(/^The remote path must be one line without control characters\./);
    expect(parseRemoteArg("devbox")).toMatch(/^Did not understand "\/remote devbox": give an SSH alias and a folder, selectable or off\. Use \/remote/);
    expect(parseRemoteArg("bad;host /srv")).toMatch(/^"bad;host" is not a usable SSH alias/);
  });
});
