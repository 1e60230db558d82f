import { mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { defaultSessionDataDir, sessionFolderName, sessionStateDir } from "../src/index.js";

describe("sessionFolderName", () => {
  it("keeps Starling session ids unchanged", () => {
    for (const id of ["telegram-000001.foreground", "tg_main-000001.background.0001", "a-000001.subagent.0012", "tg.main-000001.foreground"]) {
      expect(sessionFolderName(id)).toBe(id);
    }
  });

  it("replaces unsafe characters like Stellaclaw", () => {
    expect(sessionFolderName("a/b:c d")).toBe("a_b_c_d");
    expect(sessionFolderName("ünï")).toBe("_n_");
    expect(sessionFolderName("../../etc")).toBe(".._.._etc");
  });

  it("never yields . or .. or an empty name", () => {
    expect(sessionFolderName("")).toBe("_");
    expect(sessionFolderName(".")).toBe("_");
    expect(sessionFolderName("..")).toBe("__");
  });

  it("caps long ids and keeps them distinct", () => {
    const a = sessionFolderName(`${"x".repeat(300)}a`);
    const b = sessionFolderName(`${"x".repeat(300)}b`);
    expect(a.length).toBe(200);
    expect(a).not.toBe(b);
  });

  it("builds the session state folder", () => {
    expect(sessionStateDir("/w/conversations/c-000001", "c-000001.foreground")).toBe(
      "/w/conversations/c-000001/.starling/sessions/c-000001.foreground",
    );
  });
});

describe("defaultSessionDataDir (a worker given no dataDir)", () => {
  const dirs: string[] = [];
  const workspace = (): string => {
    const dir = mkdtempSync(join(tmpdir(), "starling-session-folder-"));
    dirs.push(dir);
    return dir;
  };
  afterEach(() => {
    for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
  });

  it("is the host's folder plus db", () => {
    const ws = workspace();
    expect(defaultSessionDataDir(ws, ".odd")).toBe(join(ws, ".starling", "sessions", ".odd", "db"));
    expect(defaultSessionDataDir(ws, "c-000001.foreground")).toBe(join(sessionStateDir(ws, "c-000001.foreground"), "db"));
  });

  it("keeps a session folder made by the rule before 0.7.0 when only that one exists", () => {
    const ws = workspace();
    mkdirSync(join(ws, ".starling", "sessions", "_odd", "db"), { recursive: true });
    expect(defaultSessionDataDir(ws, ".odd")).toBe(join(ws, ".starling", "sessions", "_odd", "db"));
    mkdirSync(join(ws, ".starling", "sessions", ".odd"), { recursive: true });
    expect(defaultSessionDataDir(ws, ".odd")).toBe(join(ws, ".starling", "sessions", ".odd", "db"));
  });
});
