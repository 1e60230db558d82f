// Part C: the web channel — the real `starling` host with only a web channel and the zero-latency fake
// model; a turn is timed from the POST of a message until its final message arrives on the
// conversation's SSE stream, beside a plain node:http server answering a POST (the floor) measured in
// the same run. Then the time to page through a 1,000-message history via the API.
import { spawn } from "node:child_process";
import { rmSync } from "node:fs";
import { createServer, type AddressInfo } from "node:net";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";
import { WebLog } from "../../packages/host/dist/channels/web/web-log.js";
import { startFakeOpenAI } from "../fakes/openai-server.js";
import { sseEvents } from "../e2e/web-sse.js";
import { BOT_TOKEN_ENV, hostConfig, startHost, type RunningProcess } from "./host-process.js";
import { childEnv, sleep } from "./proc.js";
import { percentile, summarize, type Summary } from "./stats.js";
import { preciseNow } from "./telegram-driver.js";

const FLOOR = fileURLToPath(new URL("./web-floor.mjs", import.meta.url));
const TOKEN = "bench-web-token-0123456789";

export interface WebBenchOptions {
  outDir: string;
  /** Closed-loop rounds per concurrency level (after one cold round that starts each conversation's worker). */
  levels: { conversations: number; rounds: number }[];
  historyMessages: number;
  log: (line: string) => void;
}

export interface WebLevelResult {
  conversations: number;
  host: Summary;
  floor: Summary;
  /** The first message of each conversation (its worker starts). */
  cold: Summary;
}

export interface WebHistoryResult {
  messages: number;
  pageSize: number;
  /** The latest page (what the page loads first), median of runs. */
  latestPageMs: number;
  /** Every page from the newest back to the first (`before=`), total, median of runs. */
  backwardMs: number;
  /** Every page from the first on (`after=`), total, median of runs. */
  forwardMs: number;
  pages: number;
  runs: number;
}

export interface WebBenchResult {
  levels: WebLevelResult[];
  history: WebHistoryResult | null;
  historyError: string | null;
}

const auth = { authorization: `Bearer ${TOKEN}` };

/** One conversation's SSE stream: the arrival time of each final message (an event with `turnEnd`), by event id. */
class Conversation {
  private readonly ends: { id: number; at: number }[] = [];
  private readonly waiters = new Set<() => void>();
  private readonly abort = new AbortController();

  constructor(readonly origin: string, readonly id: string) {
    void this.follow().catch(() => undefined);
  }

  private async follow(): Promise<void> {
    const res = await fetch(`${this.origin}/api/conversations/${this.id}/events`, { headers: auth, signal: this.abort.signal });
    if (!res.body) return;
    for await (const { type, data } of sseEvents(res.body)) {
      if (type !== "message") continue;
      const event = JSON.parse(data) as { id: number; turnEnd?: unknown };
      if (event.turnEnd) {
        this.ends.push({ id: event.id, at: preciseNow() });
        for (const w of this.waiters) w();
      }
    }
  }

  /** Posts a message; resolves with the ms from the POST until its turn's final message arrived. */
  async turn(text: string, timeoutMs: number): Promise<number> {
    const t0 = preciseNow();
    const res = await fetch(`${this.origin}/api/conversations/${this.id}/messages`, {
      method: "POST",
      headers: { ...auth, "content-type": "application/json" },
      body: JSON.stringify({ text }),
    });
    const posted = (await res.json()) as { event_id: number };
    if (res.status !== 202) throw new Error(`POST message: HTTP ${res.status} ${JSON.stringify(posted)}`);
    const end = await new Promise<{ id: number; at: number }>((resolve, reject) => {
      const check = () => {
        const found = this.ends.find((e) => e.id > posted.event_id);
        if (!found) return;
        this.waiters.delete(check);
        clearTimeout(timer);
        resolve(found);
      };
      const timer = setTimeout(() => {
        this.waiters.delete(check);
        reject(new Error(`no final message in ${this.id} within ${timeoutMs} ms`));
      }, timeoutMs);
      this.waiters.add(check);
      check();
    });
    this.ends.splice(0, this.ends.indexOf(end) + 1);
    return end.at - t0;
  }

  close(): void {
    this.abort.abort();
  }
}

async function postJson(url: string, body: unknown, headers: Record<string, string> = {}): Promise<unknown> {
  const res = await fetch(url, { method: "POST", headers: { ...headers, "content-type": "application/json" }, body: JSON.stringify(body) });
  if (!res.ok) throw new Error(`POST ${url}: HTTP ${res.status} ${await res.text()}`);
  return res.json();
}

/** Each of `n` clients sends `rounds` messages, each after the previous one's answer. */
async function closedLoop(n: number, rounds: number, one: (client: number, round: number) => Promise<number>): Promise<number[]> {
  const samples: number[] = [];
  await Promise.all(
    Array.from({ length: n }, async (_, c) => {
      for (let r = 0; r < rounds; r++) samples.push(await one(c, r));
    }),
  );
  return samples;
}

function startFloor(): Promise<{ url: string; stop: () => void }> {
  const child = spawn(process.execPath, [FLOOR], { env: childEnv(), stdio: ["ignore", "pipe", "inherit"] });
  return new Promise((resolve, reject) => {
    child.once("exit", (code) => reject(new Error(`web floor exited (${code})`)));
    createInterface({ input: child.stdout! }).once("line", (port) => resolve({ url: `http://127.0.0.1:${port.trim()}/`, stop: () => child.kill("SIGTERM") }));
  });
}

function freePort(): Promise<number> {
  const server = createServer();
  return new Promise((resolve) =>
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address() as AddressInfo;
      server.close(() => resolve(port));
    }),
  );
}

async function startWebHost(dir: string, modelUrl: string, maxConcurrentTurns: number, port: number): Promise<RunningProcess> {
  const base = hostConfig({ modelUrl, apiRoot: "", adminUserIds: [], allowedChatIds: [], maxConcurrentTurns, idleShutdownSeconds: 120, pollIntervalMs: 0 });
  const config = { ...base, channels: [{ kind: "web", id: "web", bind_addr: `127.0.0.1:${port}`, token_env: BOT_TOKEN_ENV }] };
  const host = startHost(dir, config, TOKEN);
  const deadline = Date.now() + 30_000;
  for (;;) {
    if (host.child.exitCode !== null) throw new Error(`web host exited: ${host.tail()}`);
    const ok = await fetch(`http://127.0.0.1:${port}/api/health`, { headers: auth }).then((r) => r.ok, () => false);
    if (ok) return host;
    if (Date.now() > deadline) throw new Error(`web host did not answer: ${host.tail()}`);
    await sleep(50);
  }
}

export async function runWebBench(opts: WebBenchOptions): Promise<WebBenchResult> {
  const model = await startFakeOpenAI({ responder: () => ({ text: "ok, noted." }) });
  const floor = await startFloor();
  const dir = join(opts.outDir, "web");
  rmSync(dir, { recursive: true, force: true });
  const port = await freePort();
  const origin = `http://127.0.0.1:${port}`;
  let host = await startWebHost(dir, model.url, Math.max(...opts.levels.map((l) => l.conversations)), port);
  const open: Conversation[] = [];
  try {
    const levels: WebLevelResult[] = [];
    for (const level of opts.levels) {
      opts.log(`web: ${level.conversations} conversation(s) × ${level.rounds} rounds — HTTP echo floor, then host (POST → SSE final message)`);
      const floorSamples = await closedLoop(level.conversations, level.rounds + 1, async (c, r) => {
        const t0 = preciseNow();
        await postJson(floor.url, { text: `bm-web-${c}-${r}` });
        return preciseNow() - t0;
      });
      const convs: Conversation[] = [];
      for (let c = 0; c < level.conversations; c++) {
        const created = (await postJson(`${origin}/api/conversations`, { title: `bench ${level.conversations}-${c}` }, auth)) as { conversation_id: string };
        convs.push(new Conversation(origin, created.conversation_id));
      }
      open.push(...convs);
      const cold = await closedLoop(level.conversations, 1, (c) => convs[c]!.turn(`bm-web-cold-${c}`, 300_000));
      const warm = await closedLoop(level.conversations, level.rounds, (c, r) => convs[c]!.turn(`bm-web-${c}-${r}`, 60_000));
      // The floor's first round opens its connections: dropped like the host's cold round.
      levels.push({ conversations: level.conversations, host: summarize(warm), floor: summarize(floorSamples.slice(level.conversations)), cold: summarize(cold) });
      const l = levels.at(-1)!;
      opts.log(`web ${level.conversations}: host p50 ${l.host.p50.toFixed(1)} ms p99 ${l.host.p99.toFixed(1)} ms; floor p50 ${l.floor.p50.toFixed(2)} ms p99 ${l.floor.p99.toFixed(2)} ms`);
    }
    for (const c of open.splice(0)) c.close();

    let history: WebHistoryResult | null = null;
    let historyError: string | null = null;
    try {
      const result = await historyPhase(dir, origin, opts, async () => {
        await host.stop(15_000);
      }, async () => {
        host = await startWebHost(dir, model.url, 4, port);
      });
      history = result;
    } catch (err) {
      historyError = (err as Error).message;
      opts.log(`web history run failed: ${historyError}`);
    }
    return { levels, history, historyError };
  } finally {
    for (const c of open) c.close();
    await host.stop(15_000);
    floor.stop();
    await model.close();
  }
}

/**
 * A conversation with `historyMessages` events (written with the channel's own WebLog while the host
 * is stopped: user and assistant turns of a few hundred characters), then paged through the API.
 */
async function historyPhase(dir: string, origin: string, opts: WebBenchOptions, stop: () => Promise<void>, start: () => Promise<void>): Promise<WebHistoryResult> {
  const n = opts.historyMessages;
  opts.log(`web history: ${n} messages, paged 100 at a time through GET …/messages`);
  const created = (await postJson(`${origin}/api/conversations`, { title: "long history" }, auth)) as { conversation_id: string };
  const conv = created.conversation_id;
  await stop();
  const log = await WebLog.open(join(dir, "workdir", "state", "web", "web"));
  try {
    const text = "A reply of a realistic size: ".padEnd(400, "lorem ipsum dolor sit amet ");
    for (let i = 0; i < n; i += 100) {
      const batch = Array.from({ length: Math.min(100, n - i) }, (_, j) => ({
        conversationId: conv,
        at: new Date().toISOString(),
        kind: (i + j) % 2 ? ("assistant" as const) : ("user" as const),
        text: `${i + j}: ${text}`,
      }));
      await log.append(batch);
    }
  } finally {
    await log.close();
  }
  await start();
  const get = async (query: string) => {
    const res = await fetch(`${origin}/api/conversations/${conv}/messages?${query}`, { headers: auth });
    if (!res.ok) throw new Error(`GET messages?${query}: HTTP ${res.status}`);
    return (await res.json()) as { messages: { id: number }[]; has_more?: boolean; has_more_before?: boolean };
  };
  const runs = 5;
  const latest: number[] = [];
  const backward: number[] = [];
  const forward: number[] = [];
  let pages = 0;
  for (let run = 0; run < runs; run++) {
    let t0 = preciseNow();
    let page = await get("limit=100");
    latest.push(preciseNow() - t0);
    let seen = page.messages.length;
    pages = 1;
    while (page.has_more_before) {
      page = await get(`before=${page.messages[0]!.id}&limit=100`);
      seen += page.messages.length;
      pages++;
    }
    backward.push(preciseNow() - t0);
    if (seen !== n) throw new Error(`paged back through ${seen} messages, expected ${n}`);
    t0 = preciseNow();
    let after = 0;
    seen = 0;
    for (;;) {
      const next = await get(`after=${after}&limit=100`);
      seen += next.messages.length;
      if (!next.has_more) break;
      after = next.messages.at(-1)!.id;
    }
    forward.push(preciseNow() - t0);
    if (seen !== n) throw new Error(`paged forward through ${seen} messages, expected ${n}`);
  }
  return { messages: n, pageSize: 100, latestPageMs: percentile(latest, 50), backwardMs: percentile(backward, 50), forwardMs: percentile(forward, 50), pages, runs };
}

const row = (cells: (string | number)[]) => `| ${cells.join(" | ")} |`;

/** The web section of docs/PERFORMANCE.md's generated block. */
export function renderWeb(w: WebBenchResult, fmt: { ms: (v: number) => string; times: (r: number) => string }): string[] {
  const out = [
    "### Web channel (Part C)",
    "",
    "A turn through the web API: `POST …/messages` until the turn's final message arrives on the conversation's SSE stream (`GET …/events`), zero-latency fake model, closed loop (each client waits for the answer before the next message). Floor: a plain `node:http` server echoing the POST (test/bench/web-floor.mjs), same clients, same run. The first (cold) message of each conversation starts its worker and is reported apart.",
    "",
    row(["conversations", "who", "turns", "p50", "p99", "p50 / floor", "p99 / floor", "cold first message p50"]),
    row(["---", "---", "---", "---", "---", "---", "---", "---"]),
  ];
  for (const l of w.levels) {
    out.push(row([l.conversations, "starling web channel (POST → SSE final message)", l.host.n, fmt.ms(l.host.p50), fmt.ms(l.host.p99), fmt.times(l.host.p50 / l.floor.p50), fmt.times(l.host.p99 / l.floor.p99), fmt.ms(l.cold.p50)]));
    out.push(row([l.conversations, "floor: node:http echo of the POST", l.floor.n, fmt.ms(l.floor.p50), fmt.ms(l.floor.p99), "1.00×", "1.00×", "—"]));
  }
  const h = w.history;
  if (h) {
    out.push(
      "",
      `**History of ${h.messages} messages** (~400 characters each), pages of ${h.pageSize} through \`GET …/messages\`, median of ${h.runs} runs: latest page ${fmt.ms(h.latestPageMs)}; all ${h.pages} pages from the newest back (\`before=\`) ${fmt.ms(h.backwardMs)}; all pages from the first on (\`after=\`) ${fmt.ms(h.forwardMs)}.`,
    );
  }
  if (w.historyError) out.push("", `The history run failed: ${w.historyError}`);
  return out;
}
