// One end-to-end setup per test file: fake Telegram + fake model + config + the real `starling` CLI,
// with helpers that read the chat the way a user sees it.
import { existsSync, readFileSync } from "node:fs";
import { afterAll, afterEach, beforeAll, expect } from "vitest";
import { join } from "node:path";
import { startFakeOpenAI, type FakeOpenAI, type RecordedRequest, type Responder } from "../fakes/openai-server.js";
import { startFakeTelegram, type FakeChat, type FakeTelegram, type FakeUser, type SentMessage } from "../fakes/telegram-api.js";
import { startCli, stopGracefully, tempDir, until, writeHostConfig, type HostConfigOptions, type RunningCli } from "./host-harness.js";

export const MODEL_KEY = "e2e-model-key";

export interface WireMessage {
  role: string;
  content?: unknown;
  tool_calls?: unknown;
}

export function wireMessages(req: RecordedRequest): WireMessage[] {
  return (req.body.messages ?? []) as WireMessage[];
}

/** The text of a chat-completions message (string content or the text parts of an array). */
export function contentText(message: WireMessage): string {
  if (typeof message.content === "string") return message.content;
  if (Array.isArray(message.content)) {
    return (message.content as { type?: string; text?: string }[])
      .filter((p) => p.type === "text")
      .map((p) => p.text ?? "")
      .join("\n");
  }
  return "";
}

/** The text of the last user message of a model request ("" when none). */
export function lastUserText(req: RecordedRequest): string {
  const last = [...wireMessages(req)].reverse().find((m) => m.role === "user");
  return last ? contentText(last) : "";
}

/** The request follows a tool result (the model is asked to go on after its tools ran). */
/** The last tool result the model was sent, parsed as JSON when it is (else `{text}`). */
export function lastToolResult(req: RecordedRequest): Record<string, unknown> {
  const text = contentText([...wireMessages(req)].reverse().find((m) => m.role === "tool")!);
  try {
    return JSON.parse(text) as Record<string, unknown>;
  } catch {
    return { text };
  }
}

export function afterTool(req: RecordedRequest): boolean {
  return wireMessages(req).at(-1)?.role === "tool";
}

/** Everything the model was sent, as one string (for "the model never saw X"). */
export function requestText(req: RecordedRequest): string {
  return JSON.stringify(req.body.messages ?? []);
}

/** The progress panel is a separate message (edited in place) showing the elapsed time. */
export const isPanel = (m: SentMessage): boolean => (m.text ?? "").includes("⏱");

/** How a re-sent reply whose first delivery is unknown is labelled (ARCHITECTURE §5.5). */
export const DUPLICATE_LABEL = "(possible duplicate)";

/** A reply re-sent after its first delivery was unknown: it starts with the label. */
export const isResend = (m: SentMessage): boolean => (m.text ?? m.caption ?? "").startsWith(`♻️ ${DUPLICATE_LABEL}`);

/** The chat's progress panels (one message per turn, edited in place), oldest first. */
export function panels(telegram: FakeTelegram, chatId: number): SentMessage[] {
  return telegram.messages(chatId).filter(isPanel);
}

export const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

export type HostConfig = Omit<HostConfigOptions, "apiRoot" | "modelUrl">;

export interface E2EOptions {
  responder: Responder;
  /** Config options; a function gets the fakes' addresses (e.g. for a second model on the same fake). */
  config?: HostConfig | ((fakes: { modelUrl: string; apiRoot: string }) => HostConfig);
  /** Start the host right away (default true). */
  start?: boolean;
}

export interface E2E {
  telegram: FakeTelegram;
  model: FakeOpenAI;
  dir: string;
  workdir: string;
  configPath: string;
  host: RunningCli | null;
  /** Environment the host needs (tokens). */
  env: Record<string, string>;
  start(extraEnv?: Record<string, string>): RunningCli;
  /**
   * The running host if it was started with exactly `extraEnv` (as tests that need no fresh host can share
   * one: each start costs seconds on a loaded machine); else a running one is killed (SIGKILL) and a new one
   * started with `extraEnv`.
   */
  hostWith(extraEnv?: Record<string, string>): Promise<RunningCli>;
  /** Stops the running host (SIGTERM by default) and waits for its exit. */
  stop(signal?: NodeJS.Signals): Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** The bot's messages in a chat, progress panels left out. */
  replies(chatId: number): SentMessage[];
  send(chat: FakeChat, text: string, from?: FakeUser): number;
  /** Waits until the chat has at least `count` replies (panels left out). */
  waitReplies(chatId: number, count: number, what: string, timeoutMs?: number): Promise<SentMessage[]>;
  /** Waits for a reply (panels left out) matching `pattern`. */
  waitText(chatId: number, pattern: RegExp, timeoutMs?: number): Promise<SentMessage>;
  /**
   * Sends `text` and resolves with the text of the next reply in that chat, labelled re-sends left out:
   * after a host kill the outbox may re-send a reply whose delivery was unknown, labelled (ARCHITECTURE
   * §5.5), and that copy is no answer to `text`.
   */
  ask(chat: FakeChat, text: string, opts?: { from?: FakeUser; timeoutMs?: number }): Promise<string>;
  /** `until` that adds the end of the host log to its timeout error. */
  until<T>(fn: () => T | undefined | null | false, what: string, timeoutMs?: number): Promise<T>;
  logTail(lines?: number): string;
  /** The host's log records (its JSON lines, over every start), oldest first. */
  logRecords(): Record<string, unknown>[];
  /** Waits (30 s unless told) for a log record of the running host (its pid) that `match` accepts; returns it. */
  untilLogged(match: (record: Record<string, unknown>) => boolean, what: string, timeoutMs?: number): Promise<Record<string, unknown>>;
  /** Waits until the host has seen a turn of the chat run (its typing action follows the turn's start). */
  untilTyping(chatId: number): Promise<void>;
  /** Waits (60 s at most) for `host` to kill itself at crash point `point` (STARLING_CRASH_AT). */
  killedAt(host: RunningCli, point: string): Promise<void>;
  close(): Promise<void>;
}

export async function startE2E(options: E2EOptions): Promise<E2E> {
  const model = await startFakeOpenAI({ apiKey: MODEL_KEY, responder: options.responder });
  const telegram = await startFakeTelegram();
  const tmp = tempDir();
  const workdir = join(tmp.dir, "workdir");
  const fakes = { apiRoot: telegram.apiRoot, modelUrl: model.url };
  const config = typeof options.config === "function" ? options.config(fakes) : options.config;
  const configPath = writeHostConfig(tmp.dir, { ...fakes, ...config });
  const env = { FAKE_TELEGRAM_TOKEN: telegram.token, FAKE_MODEL_KEY: MODEL_KEY };

  const logTail = (lines = 60): string => {
    const file = join(workdir, "logs", "host.log");
    if (!existsSync(file)) return "(no host log)";
    return readFileSync(file, "utf8").trim().split("\n").slice(-lines).join("\n");
  };
  const logRecords = (): Record<string, unknown>[] => {
    const file = join(workdir, "logs", "host.log");
    if (!existsSync(file)) return [];
    // A line the host wrote while the disk was full can be cut short and run into the next one (full-disk tests):
    // such a line is not a record.
    return readFileSync(file, "utf8")
      .split("\n")
      .filter((line) => line.startsWith("{"))
      .flatMap((line) => {
        try {
          return [JSON.parse(line) as Record<string, unknown>];
        } catch {
          return [];
        }
      });
  };
  const replies = (chatId: number) => telegram.messages(chatId).filter((m) => !isPanel(m));
  /** Whether the host still runs and how much CPU it used: a host spinning in a loop logs nothing, like one waiting. */
  const hostProcessState = (): string => {
    const child = e2e.host?.child;
    if (!child?.pid) return "";
    if (child.exitCode !== null || child.signalCode !== null) return `--- host exited (${child.exitCode ?? child.signalCode}) ---\n`;
    try {
      const fields = readFileSync(`/proc/${child.pid}/stat`, "utf8").split(") ")[1]!.split(" ");
      const cpuSeconds = (Number(fields[11]) + Number(fields[12])) / 100; // utime + stime, in clock ticks of 1/100 s
      return `--- host pid ${child.pid} running, state ${fields[0]}, ${cpuSeconds.toFixed(1)} s of CPU since it started ---\n`;
    } catch {
      return "";
    }
  };
  /** What a timed-out wait for a chat's reply reports besides the host log: the chat's last replies, and whether the host took its updates. */
  const chatState = (chatId: number): string => {
    const last = replies(chatId).slice(-5).map((m) => `  ${JSON.stringify((m.text ?? m.caption ?? "").slice(0, 200))}`);
    return `--- chat ${chatId}: last replies ---\n${last.join("\n") || "  (none)"}\n--- updates not yet taken by the host: ${telegram.pendingUpdates()} ---\n`;
  };
  const waitUntil = async <T>(fn: () => T | undefined | null | false, what: string, timeoutMs = 45_000, chatId?: number): Promise<T> => {
    try {
      return await until(fn, timeoutMs, what);
    } catch (err) {
      const output = e2e.host?.output().trim().split("\n").slice(-20).join("\n") ?? "";
      const chat = chatId === undefined ? "" : chatState(chatId);
      throw new Error(`${(err as Error).message}\n${chat}${hostProcessState()}--- host output ---\n${output}\n--- host log (tail) ---\n${logTail()}`);
    }
  };

  const running = (): boolean => e2e.host !== null && e2e.host.child.exitCode === null && e2e.host.child.signalCode === null;
  let hostEnv = "";

  const e2e: E2E = {
    telegram,
    model,
    dir: tmp.dir,
    workdir,
    configPath,
    host: null,
    env,
    start(extraEnv = {}) {
      if (running()) throw new Error("host already running");
      e2e.host = startCli(["--config", configPath, "--workdir", workdir], { ...env, ...extraEnv });
      hostEnv = JSON.stringify(Object.entries(extraEnv).sort());
      return e2e.host;
    },
    async hostWith(extraEnv = {}) {
      if (running() && hostEnv === JSON.stringify(Object.entries(extraEnv).sort())) return e2e.host!;
      if (running()) await e2e.stop("SIGKILL");
      return e2e.start(extraEnv);
    },
    async stop(signal = "SIGTERM") {
      const host = e2e.host;
      if (!host) return { code: null, signal: null };
      return host.stop(signal);
    },
    replies,
    send: (chat, text, from) => telegram.sendText(chat, text, from ? { from } : undefined),
    waitReplies: (chatId, count, what, timeoutMs) =>
      waitUntil(() => replies(chatId).length >= count && replies(chatId), what, timeoutMs, chatId),
    waitText: (chatId, pattern, timeoutMs) =>
      waitUntil(() => replies(chatId).find((m) => pattern.test(m.text ?? m.caption ?? "")), `a reply matching ${pattern}`, timeoutMs, chatId),
    async ask(chat, text, opts = {}) {
      const before = replies(chat.id).length;
      e2e.send(chat, text, opts.from);
      const answer = await waitUntil(
        () => replies(chat.id).slice(before).find((m) => !isResend(m)),
        `an answer to ${JSON.stringify(text)}`,
        opts.timeoutMs,
        chat.id,
      );
      return answer.text ?? answer.caption ?? "";
    },
    until: waitUntil,
    logTail,
    logRecords,
    untilLogged: (match, what, timeoutMs = 30_000) =>
      waitUntil(() => logRecords().find((r) => r["pid"] === e2e.host?.child.pid && match(r)), what, timeoutMs),
    async untilTyping(chatId) {
      await waitUntil(() => telegram.chatActions(chatId).some((a) => a.action === "typing"), "the host seeing the turn run");
    },
    async killedAt(host, point) {
      const exit = await Promise.race([host.exited, sleep(60_000).then(() => null)]);
      expect(exit, `the host killed itself at ${point}\n${logTail(30)}`).toEqual({ code: null, signal: "SIGKILL" });
    },
    async close() {
      await stopGracefully(e2e.host);
      await telegram.close();
      await model.close();
      if (!process.env.STARLING_E2E_KEEP) tmp.cleanup();
    },
  };
  if (options.start !== false) e2e.start();
  return e2e;
}

/**
 * One E2E for a test file whose tests start their own hosts: made before the file's tests (not
 * started), a host a test left running is killed after it, and all is closed at the end. With
 * `keepHost`, only a failed test's host is killed: a passed test's host is left for the next test's
 * `hostWith`.
 */
export function useE2E(options: Omit<E2EOptions, "start">, set: (e2e: E2E) => void, { keepHost = false }: { keepHost?: boolean } = {}): void {
  let e2e: E2E | undefined;
  beforeAll(async () => {
    e2e = await startE2E({ ...options, start: false });
    set(e2e);
  });
  afterEach(async (context) => {
    if (keepHost && context.task.result?.state === "pass") return;
    if (e2e?.host && e2e.host.child.exitCode === null && e2e.host.child.signalCode === null) await e2e.stop("SIGKILL");
  });
  afterAll(async () => {
    await e2e?.close();
  });
}

/** The process exists (signal 0 reaches it). */
export function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}
