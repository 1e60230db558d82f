// The worker's start-up snapshot carries two real turns run while it was built (src/snapshot-warmup-turn.ts).
// Built here again from the bundled snapshot script (`pnpm build` writes it) with a private TMPDIR, then a
// worker started from that blob must serve a fresh session as if nothing had run before: no history, no
// seqs, no queued input, none of the warm-up's workspace in what it sends the model.
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { DURABLE_EVENT_TYPES, PROTOCOL_VERSION, spawnWorker, type SessionEventParams } from "@starling/protocol";
import { startFakeOpenAI, type FakeOpenAI } from "../../../test/fakes/openai-server.js";
import { waitLimit } from "../../../test/fakes/wait-limit.js";
import { buildSnapshotBlob, readCodeCache } from "../../../scripts/snapshot-code-cache.mjs";
import { WARMUP_CONN_TIMEOUT_ENV } from "../src/snapshot-warmup.js";

const dist = fileURLToPath(new URL("../dist/", import.meta.url));
const script = join(dist, "snapshot.bundle.cjs");
const manifestPath = join(dist, "main.bundle.json");
const manifest = existsSync(manifestPath)
  ? (JSON.parse(readFileSync(manifestPath, "utf8")) as { snapshot: { node: string } | null; nodeFlags?: string[] })
  : null;
const buildable = manifest?.snapshot != null && manifest.snapshot.node === process.version && existsSync(script);
if (!buildable) console.warn("snapshot.test: skipped: `pnpm build` wrote no start-up snapshot for this Node (see its warning)");

describe.skipIf(!buildable)("the worker's start-up snapshot", () => {
  let dir: string;
  let builderTmp: string;
  let blob: string;
  let fake: FakeOpenAI;
  let loadedAtBuild: string[];
  let cacheBefore: string[];
  /** How long building the blob took: its warm-up set its header timer no later than this into the build. */
  let buildMs: number;
  /** The warm-up's `conn_timeout` in the test's blob (10 s in the shipped one): the timers test waits past it. */
  const warmUpConnTimeoutSecs = 1;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), "starling-snapshot-test-"));
    builderTmp = join(dir, "builder-tmp");
    mkdirSync(builderTmp);
    blob = join(dir, "worker.blob");
    // Built and trimmed as `pnpm build` ships it (without the code cache of built-ins the snapshot holds compiled).
    const env = { ...process.env, TMPDIR: builderTmp, [WARMUP_CONN_TIMEOUT_ENV]: String(warmUpConnTimeoutSecs) };
    const buildStarted = Date.now();
    ({ loadedAtBuild, cacheBefore } = buildSnapshotBlob({ script, blob, nodeFlags: manifest?.nodeFlags ?? [], cwd: dist, env }));
    buildMs = Date.now() - buildStarted;
    fake = await startFakeOpenAI();
  });

  afterAll(async () => {
    await fake?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it("removes the warm-up's workspace when it is built", () => {
    expect(existsSync(blob)).toBe(true);
    expect(readdirSync(builderTmp)).toEqual([]);
  });

  it("keeps the code cache only of built-ins a worker may compile after start on a common path", () => {
    const after = readCodeCache(readFileSync(blob))?.entries.map((e) => e.id) ?? [];
    // node:path is loaded while the snapshot is built, node:http only after start (scripts/bundle-worker.mjs).
    expect(loadedAtBuild).toContain("path");
    expect(loadedAtBuild).not.toContain("http");
    expect(cacheBefore).toEqual(expect.arrayContaining(["path", "http", "internal/per_context/primordials"]));
    expect(after).not.toContain("path");
    expect(cacheBefore).toContain("repl"); // never loaded by a worker: dropped too
    expect(after).not.toContain("repl");
    // child_process (a shell tool) loads dgram; fetch (undici) is a rare path, and a worker starts no threads.
    expect(after).toEqual(expect.arrayContaining(["http", "https", "child_process", "dgram"]));
    expect(after).not.toContain("internal/deps/undici/undici");
    expect(after).not.toContain("internal/per_context/primordials");
    expect(after.length).toBeLessThan(cacheBefore.length);
  });

  it("leaves out the warm-up's in-memory database, which only the build runs", () => {
    // memory-level (with its red-black tree) is loaded from warmup-level.build-only.cjs while the blob is built and
    // dropped before the heap is written: every byte of the snapshot's script is held twice by every worker.
    expect(readFileSync(join(dist, "warmup-level.build-only.cjs"), "utf8")).toContain("MemoryEntryIterator");
    expect(readFileSync(script, "utf8").includes("MemoryEntryIterator")).toBe(false);
    expect(readFileSync(blob).includes("MemoryEntryIterator")).toBe(false);
  });

  it("leaves out zod's ahead-of-time compiler and fromJSONSchema, keeping stand-ins that say so", () => {
    // Neither the worker nor the MCP SDK calls them (scripts/bundle-worker.mjs, zodLeftOut): 68 kB of script, held twice.
    const text = readFileSync(script, "utf8");
    expect(text.includes("z.compile does not support")).toBe(false);
    expect(text.includes("External $ref is not supported")).toBe(false);
    expect(text).toContain("z.compile is left out of Starling's worker bundles");
    expect(text).toContain("z.fromJSONSchema is left out of Starling's worker bundles");
  });

  /** A worker started from the test's blob in a new workspace, with `env` added. */
  function startWorker(name: string, env: Record<string, string> = {}) {
    const workspace = join(dir, name);
    mkdirSync(workspace);
    const client = spawnWorker({
      command: [process.execPath, ...(manifest?.nodeFlags ?? []), "--snapshot-blob", blob],
      cwd: workspace,
      env: { PATH: process.env.PATH ?? "", HOME: workspace, FAKE_MODEL_KEY: "test-key", STARLING_LOG_LEVEL: "warn", ...env },
      stderr: () => undefined,
    });
    const initialize = () =>
      client.initialize({
        protocolVersion: PROTOCOL_VERSION,
        sessionId: `${name}.foreground`,
        sessionType: "foreground",
        workspace,
        model: {
          provider_type: "open_router_completion",
          model_name: "fake-model",
          url: fake.url,
          api_key_env: "FAKE_MODEL_KEY",
          capabilities: ["chat"],
          retry_mode: { random_interval: { max_interval_secs: 0.05, max_retries: 1 } },
        },
      });
    return { workspace, client, initialize };
  }

  it("starts a worker whose fresh session answers its first turns and holds nothing of the warm-up", async () => {
    const { workspace, client, initialize } = startWorker("ws");
    writeFileSync(join(workspace, "todo.txt"), "buy milk\n");
    const events: SessionEventParams[] = [];
    client.onEvent((e) => {
      events.push(e);
      if ((DURABLE_EVENT_TYPES as readonly string[]).includes(e.event.type)) void client.ackEvents({ upTo: e.seq }).catch(() => undefined);
    });
    const completed = async (n: number) => {
      const deadline = Date.now() + waitLimit(30_000);
      while (events.filter((e) => e.event.type === "turn_completed").length < n) {
        if (Date.now() > deadline) throw new Error(`no turn_completed #${n}; events: ${JSON.stringify(events.map((e) => e.event.type))}`);
        await new Promise((r) => setTimeout(r, 20));
      }
    };
    try {
      const summary = await initialize();
      expect(summary).toMatchObject({ historyLength: 0, nextTurnId: 1, lastEventSeq: 0, lastAckedSeq: 0, queuedInputs: 0, unfinishedTurn: null });

      fake.push({ text: "Hi there." }, { toolCalls: [{ name: "file_read", arguments: { file_path: "todo.txt" } }] }, { text: "Milk." });
      await client.enqueue({ messageId: "m1", kind: "user", message: { role: "user", content: [{ type: "text", text: "hello" }] } });
      await completed(1);
      await client.enqueue({ messageId: "m2", kind: "user", message: { role: "user", content: [{ type: "text", text: "what is on my list?" }] } });
      await completed(2);

      // The first events of this session number from 1, the first turn is turn 1.
      expect(events[0]).toMatchObject({ seq: 1, event: { type: "turn_started", turnId: 1 } });
      expect(events.some((e) => e.event.type === "turn_failed")).toBe(false);
      // What the model saw: this workspace, this session's messages only; the tool read this workspace's file.
      const first = fake.requests[0]!.body as { messages: { role: string; content: unknown }[] };
      expect(first.messages.map((m) => m.role)).toEqual(["system", "user"]);
      const wire = JSON.stringify(fake.requests.map((r) => r.body));
      expect(wire).toContain(workspace);
      expect(wire).not.toMatch(/warmup|warm-up|starling-snapshot-warmup|notes\.txt/);
      expect(JSON.stringify(fake.requests[2]!.body)).toContain("buy milk");

      const page = await client.query({ view: "transcript_page", source: "all", offset: 0, limit: 50 });
      expect(page.view === "transcript_page" && page.messages.map((m) => m.role)).toEqual(["user", "assistant", "user", "assistant", "tool", "assistant"]);
    } finally {
      await client.shutdown().catch(() => undefined);
      await client.exited;
    }
  });

  // node:child_process (like http, https, net and readline) is bound on its first use in a snapshot worker
  // (scripts/bundle-worker.mjs): the shell tool's spawn must reach the real one.
  it("runs a shell command and web_fetch's address check through code bound on first use", async () => {
    const { workspace, client, initialize } = startWorker("shell");
    writeFileSync(join(workspace, "a.txt"), "x");
    const done: string[] = [];
    client.onEvent((e) => {
      done.push(e.event.type);
      if ((DURABLE_EVENT_TYPES as readonly string[]).includes(e.event.type)) void client.ackEvents({ upTo: e.seq }).catch(() => undefined);
    });
    try {
      await initialize();
      fake.push(
        {
          toolCalls: [
            { name: "shell", arguments: { command: "echo from-$((6*7)); ls" } },
            // ipaddr.js is required from where it is installed on first use: its verdict names the range.
            { name: "web_fetch", arguments: { url: "http://127.0.0.1:9/" } },
          ],
        },
        { text: "Done." },
      );
      const before = fake.requests.length;
      await client.enqueue({ messageId: "s1", kind: "user", message: { role: "user", content: [{ type: "text", text: "run it" }] } });
      const deadline = Date.now() + waitLimit(30_000);
      while (!done.includes("turn_completed") && !done.includes("turn_failed")) {
        if (Date.now() > deadline) throw new Error(`no turn_completed; events: ${JSON.stringify(done)}`);
        await new Promise((r) => setTimeout(r, 20));
      }
      expect(done).not.toContain("turn_failed");
      const toolResult = JSON.stringify(fake.requests[before + 1]!.body);
      expect(toolResult).toContain("from-42");
      expect(toolResult).toContain("a.txt");
      expect(toolResult).toContain("127.0.0.1 is a loopback address");
    } finally {
      await client.shutdown().catch(() => undefined);
      await client.exited;
    }
  });

  // A warm spare waits for its conversation, mostly longer than the timers the build set and cleared (the
  // warm-up's conn_timeout). Its own timers must run however late the first one comes: here the wait
  // before the retry of a failed model call, and the exit after `shutdown`. A blob that kept the build's
  // timer state left this turn waiting forever (src/snapshot-timers.ts). That state is the header timer's
  // expiry by the build's clock: set at most `buildMs` into the build (however loaded the machine), due
  // `warmUpConnTimeoutSecs` later. The worker's first timer comes after it by the worker's own clock.
  it("starts workers whose timers run however long they waited for their session", async () => {
    const { client, initialize } = startWorker("late");
    const done: string[] = [];
    client.onEvent((e) => {
      done.push(e.event.type);
      if ((DURABLE_EVENT_TYPES as readonly string[]).includes(e.event.type)) void client.ackEvents({ upTo: e.seq }).catch(() => undefined);
    });
    try {
      await new Promise((r) => setTimeout(r, buildMs + warmUpConnTimeoutSecs * 1000 + 500));
      await initialize();
      fake.push({ status: 500 }, { text: "Second time lucky." });
      const before = fake.requests.length;
      await client.enqueue({ messageId: "l1", kind: "user", message: { role: "user", content: [{ type: "text", text: "late hello" }] } });
      const deadline = Date.now() + waitLimit(20_000);
      while (!done.includes("turn_completed") && !done.includes("turn_failed")) {
        if (Date.now() > deadline) throw new Error(`no turn_completed after the retry; events: ${JSON.stringify(done)}; model calls: ${fake.requests.length - before}`);
        await new Promise((r) => setTimeout(r, 20));
      }
      expect(done).toContain("turn_completed");
      expect(fake.requests.length - before).toBe(2);
      await client.shutdown();
      const exit = await Promise.race([client.exited, new Promise((r) => setTimeout(() => r("still running 10 s after shutdown"), waitLimit(10_000)))]);
      expect(exit).toMatchObject({ code: 0 });
    } finally {
      if (client.child.exitCode === null && client.child.signalCode === null) client.child.kill("SIGKILL");
    }
  }, 60_000);

  // The warm-up turns passed every commit point without STARLING_CRASH_AT / STARLING_FAIL_AT set: a
  // worker started with them must still crash or fail there (module state from the build must not decide).
  it("starts workers that honour STARLING_CRASH_AT and STARLING_FAIL_AT", async () => {
    const crashing = startWorker("crash", { STARLING_CRASH_AT: "enqueue" });
    await crashing.initialize();
    await crashing.client.enqueue({ messageId: "c1", kind: "user", message: { role: "user", content: [{ type: "text", text: "hi" }] } }).catch(() => undefined);
    expect(await crashing.client.exited).toMatchObject({ signal: "SIGKILL" });

    const failing = startWorker("fail", { STARLING_FAIL_AT: "enqueue:1:4" });
    try {
      await failing.initialize();
      const refused = failing.client.enqueue({ messageId: "f1", kind: "user", message: { role: "user", content: [{ type: "text", text: "hi" }] } });
      await expect(refused).rejects.toThrow(/EIO/);
    } finally {
      await failing.client.shutdown().catch(() => undefined);
      await failing.client.exited;
    }
  });
});
