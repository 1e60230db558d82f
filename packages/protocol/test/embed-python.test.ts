// End to end: examples/embed-python/embed.py drives the compiled worker against the fake model server.
import { execFile, spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { afterEach, beforeAll, describe, expect, it } from "vitest";
import { startFakeOpenAI, type FakeOpenAI } from "../../../test/fakes/openai-server.js";
import { scriptedAnswer } from "../../../examples/embed-python/fake-model.js";
import { exchangeProblems, framesOf } from "./frames.js";

const EMBED_PY = fileURLToPath(new URL("../../../examples/embed-python/embed.py", import.meta.url));
const WORKER_MAIN = fileURLToPath(new URL("../../worker/dist/main.js", import.meta.url));
const hasPython = spawnSync("python3", ["--version"]).status === 0;

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs embed.py asynchronously (the fake model answers from this process's event loop). */
function runEmbed(args: string[], env: Record<string, string>): Promise<Run> {
  return new Promise((resolve) => {
    execFile(
      "python3",
      [EMBED_PY, "--worker", WORKER_MAIN, ...args],
      { env: { ...process.env, STARLING_LOG_LEVEL: "warn", ...env }, timeout: 25_000 },
      (error, stdout, stderr) => {
        const code = error ? (typeof error.code === "number" ? error.code : -1) : 0;
        resolve({ code, stdout, stderr });
      },
    );
  });
}

function eventLines(stdout: string): { seq: number; type: string }[] {
  return [...stdout.matchAll(/^event (\d+) (\w+) /gm)].map((m) => ({ seq: Number(m[1]), type: m[2]! }));
}

describe.skipIf(!hasPython)(
  hasPython ? "examples/embed-python/embed.py" : "examples/embed-python/embed.py (skipped: python3 is not on PATH)",
  () => {
    let fake: FakeOpenAI | null = null;

    beforeAll(() => {
      if (!existsSync(WORKER_MAIN)) throw new Error(`${WORKER_MAIN} is missing: build first with \`pnpm exec tsc -b\``);
    });
    afterEach(async () => {
      await fake?.close();
      fake = null;
    });

    it("runs a turn with a tool call, prints the reply, acknowledges and shuts down", async () => {
      fake = await startFakeOpenAI({ apiKey: "sk-embed-test", responder: scriptedAnswer });
      const run = await runEmbed(["--trace", "Which files are in the workspace?"], {
        STARLING_MODEL_URL: fake.url,
        STARLING_MODEL_NAME: "fake-model",
        STARLING_MODEL_KEY_ENV: "EMBED_TEST_KEY",
        EMBED_TEST_KEY: "sk-embed-test",
      });
      expect(run.code, run.stderr).toBe(0);
      expect(run.stdout).toMatch(/^assistant: The workspace holds: /m);

      const events = eventLines(run.stdout);
      // turn_started stands for the first model call; the second one is announced by a progress event.
      expect(events.map((e) => e.type)).toEqual([
        "turn_started",
        "tool_started",
        "progress",
        "tool_finished",
        "progress",
        "turn_completed",
      ]);
      expect(events.map((e) => e.seq)).toEqual([1, 2, 3, 4, 5, 6]);

      // The traced frames are valid protocol, and the script acknowledged and shut down.
      const frames = framesOf(run.stderr.split("\n").filter((l) => /^(-->|<--) /.test(l)).join("\n"));
      expect(exchangeProblems(frames)).toEqual([]);
      const sent = frames.filter((f) => f.dir === "-->").map((f) => f.body["method"]);
      expect(sent).toEqual(["initialize", "session/enqueue", "session/ackEvents", "shutdown"]);
      expect(frames.find((f) => f.body["method"] === "session/ackEvents")?.body["params"]).toEqual({ upTo: 6 });

      // The worker called the model with the key from the named variable, twice (tool call, answer).
      expect(fake.requests).toHaveLength(2);
      expect(fake.requests[0]!.headers["authorization"]).toBe("Bearer sk-embed-test");
      expect(fake.requests[0]!.body["model"]).toBe("fake-model");
    });

    it("prints a plain reply without a key variable (local servers)", async () => {
      fake = await startFakeOpenAI({ responder: scriptedAnswer });
      const run = await runEmbed(["hello", "there"], {
        STARLING_MODEL_URL: fake.url,
        STARLING_MODEL_NAME: "fake-model",
        STARLING_MODEL_KEY_ENV: "",
      });
      expect(run.code, run.stderr).toBe(0);
      expect(run.stdout).toContain("assistant: You said: hello there");
      expect(fake.requests[0]!.headers["authorization"]).toBeUndefined();
    });

    it("prints the error and exits 1 when the turn fails", async () => {
      fake = await startFakeOpenAI({ apiKey: "the-right-key", responder: scriptedAnswer });
      const run = await runEmbed(["hello"], {
        STARLING_MODEL_URL: fake.url,
        STARLING_MODEL_NAME: "fake-model",
        STARLING_MODEL_KEY_ENV: "EMBED_TEST_KEY",
        EMBED_TEST_KEY: "a-wrong-key",
      });
      expect(run.code).toBe(1);
      expect(run.stdout).toMatch(/^turn failed \(auth\): HTTP 401/m);
      expect(eventLines(run.stdout).map((e) => e.type)).toEqual(["turn_started", "turn_failed"]);
    });
  },
);
