// The child-process environment allowlist: only named/prefixed variables, never a secret by name or value.
import { describe, expect, it } from "vitest";
import { allowlistedEnv, probeBubblewrap, spawnWorker } from "../src/index.js";

describe("allowlistedEnv", () => {
  const source = {
    PATH: "/usr/bin:/bin",
    HOME: "/home/u",
    LANG: "C.UTF-8",
    LC_ALL: "C",
    TERM: "xterm",
    STARLING_CRASH_AT: "after_x",
    TELEGRAM_BOT_TOKEN: "123:tok",
    OPENAI_API_KEY: "sk-secret-value",
    AWS_SECRET_ACCESS_KEY: "aws",
    STARLING_MODEL_KEY: "sk-named-secret",
    STARLING_NOTE: "contains sk-secret-value inside",
    SSH_AUTH_SOCK: "/tmp/agent",
    UNDEFINED: undefined,
  };

  it("keeps the allowlisted names and prefixes and nothing else", () => {
    const env = allowlistedEnv(source);
    expect(Object.keys(env).sort()).toEqual(
      ["HOME", "LANG", "LC_ALL", "PATH", "STARLING_CRASH_AT", "STARLING_MODEL_KEY", "STARLING_NOTE", "TERM"],
    );
    expect(env.PATH).toBe(source.PATH);
  });

  it("drops an allowlisted variable that is a secret by name or that holds a secret value", () => {
    const env = allowlistedEnv(source, { secretNames: ["STARLING_MODEL_KEY"], secretValues: ["sk-secret-value", ""] });
    expect(env).not.toHaveProperty("STARLING_MODEL_KEY");
    expect(env).not.toHaveProperty("STARLING_NOTE");
    expect(env).toHaveProperty("PATH", "/usr/bin:/bin");
  });
});

describe("probeBubblewrap", () => {
  it("names a missing binary and how to install bubblewrap", async () => {
    const probe = await probeBubblewrap("/nonexistent/bwrap");
    expect(probe).toEqual({ ok: false, problem: expect.stringContaining("install bubblewrap: apt-get install bubblewrap") });
    expect(!probe.ok && probe.problem).toContain("/nonexistent/bwrap was not found");
  });

  it("reports bwrap's own complaint when it runs but cannot sandbox", async () => {
    // `false` stands in for a bwrap the kernel refuses: it runs and fails.
    const probe = await probeBubblewrap("false");
    expect(probe.ok).toBe(false);
    expect(!probe.ok && probe.problem).toContain("cannot create a sandbox here");
  });
});

describe("spawnWorker without an env", () => {
  it("gives the worker only the allowlisted environment, never the embedder's secrets", async () => {
    process.env.EMBEDDER_API_KEY = "sk-embedder-secret";
    const lines: string[] = [];
    const client = spawnWorker({
      command: [process.execPath, "-e", "process.stderr.write(JSON.stringify(process.env) + '\\n')"],
      stderr: (line) => lines.push(line),
    });
    try {
      await new Promise<void>((resolve) => client.child.once("exit", () => resolve()));
      const env = JSON.parse(lines.join("")) as Record<string, string>;
      expect(env.PATH).toBe(process.env.PATH);
      expect(env.EMBEDDER_API_KEY).toBeUndefined();
      expect(JSON.stringify(env)).not.toContain("sk-embedder-secret");
    } finally {
      delete process.env.EMBEDDER_API_KEY;
      client.kill();
    }
  });
});
