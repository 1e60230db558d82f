// The traffic of a plain turn, message by message: the real host (and its workers) runs under
// `strace -f -yy -xx` (every write and read with its bytes), one closed-loop conversation (or N), and the
// trace is decoded into JSON-RPC frames between host and worker (requests, responses, notifications with
// their byte sizes), LevelDB write-ahead-log records of the host and of the sessions (a batch each: its op
// count and bytes), the other files written, the Bot API calls and the model request (body size and parts).
//   npx tsx test/bench/probe-traffic.ts [turns=10] [conversations=1] [--show=<turn index>] [--gap=<ms>]
// --gap waits that long between a reply and the next message (a turn more than 5 s after the last pays the
// event acknowledgement it would not pay in a fast loop). Counts, not times: tracing makes every call slow.
import { execFileSync } from "node:child_process";
import { readFileSync, rmSync } from "node:fs";
import { join } from "node:path";
import { startFakeOpenAI } from "../fakes/openai-server.js";
import { privateChat, startFakeTelegram } from "../fakes/telegram-api.js";
import { childPids, hostConfig, startHost, until } from "./host-process.js";
import { sleep } from "./proc.js";
import { replyFor, ReplyWatcher } from "./telegram-driver.js";

const args = process.argv.slice(2).filter((a) => !a.startsWith("--"));
const turns = Number(args[0] ?? 10);
const conversations = Number(args[1] ?? 1);
const show = Number(process.argv.find((a) => a.startsWith("--show="))?.slice(7) ?? -1);
const gapMs = Number(process.argv.find((a) => a.startsWith("--gap="))?.slice(6) ?? 0);

const dir = join("/tmp", `probe-traffic-${process.pid}`);
rmSync(dir, { recursive: true, force: true });
const traceFile = join(dir, "host.strace");
const model = await startFakeOpenAI({ responder: (req) => replyFor(req.body, 0) });
const tg = await startFakeTelegram();
const ids = Array.from({ length: conversations }, (_, i) => 7001 + i);
const config = hostConfig({ modelUrl: model.url, apiRoot: tg.apiRoot, adminUserIds: [7001], allowedChatIds: ids, maxConcurrentTurns: conversations, idleShutdownSeconds: 120, pollIntervalMs: 0 });
execFileSync("mkdir", ["-p", dir]);
const strace = ["strace", "-f", "-qq", "-ttt", "-yy", "-xx", "-s", "4000000", "-e", "trace=write,writev,pwrite64,read,readv,clone,clone3,execve", "-o", traceFile];
const host = startHost(dir, config, tg.token, [], strace);
const watcher = new ReplyWatcher(tg);
const windows: { from: number; to: number }[] = [];
try {
  const round = async (label: string) => {
    await Promise.all(
      ids.map(async (id) => {
        const marker = `bm-${label}-${id}`;
        tg.sendText(privateChat(id), `please answer ${marker}`);
        await watcher.reply(marker, 120_000);
      }),
    );
  };
  await round("warm0");
  console.log("warm-up round 1 done");
  await round("warm1");
  await sleep(6_500); // the warm-up's delayed acknowledgement and outbox writes
  for (let i = 0; i < turns; i++) {
    const from = Date.now() / 1000;
    await round(`t${i}`);
    await sleep(300 + gapMs); // the turn's last outbox write and the worker's turn end
    windows.push({ from, to: Date.now() / 1000 });
  }
} finally {
  watcher.stop();
  const node = childPids(host.pid)[0];
  if (node !== undefined) process.kill(node, "SIGTERM");
  await until(() => host.child.exitCode !== null || host.child.signalCode !== null, 30_000, "host under strace to exit").catch(() => host.stop(1_000));
  await tg.close();
  await model.close();
}

// --- decoding the trace ---
type Io = { t: number; tid: number; call: string; fd: string; data: Buffer; ret: number };
const hex = (s: string): Buffer => Buffer.from(s.replace(/\\x/g, ""), "hex");
const owner = new Map<number, number>(); // tid → process (thread-group leader)
const exe = new Map<number, string>(); // process → what it exec'd
const ios: Io[] = [];
const unfinished = new Map<number, string>();
for (let line of readFileSync(traceFile, "utf8").split("\n")) {
  const head = /^(\d+)\s+(\d+\.\d+) /.exec(line);
  if (!head) continue;
  const tid = Number(head[1]);
  const t = Number(head[2]);
  if (line.endsWith("<unfinished ...>")) {
    unfinished.set(tid, line.slice(head[0].length, -"<unfinished ...>".length));
    continue;
  }
  const resumed = /^<\.\.\. \w+ resumed>/.exec(line.slice(head[0].length));
  if (resumed) line = head[0] + (unfinished.get(tid) ?? "") + line.slice(head[0].length + resumed[0].length);
  const body = line.slice(head[0].length);
  if (!owner.has(tid)) owner.set(tid, tid);
  const clone = /^clone3?\((.*)\) = (\d+)$/.exec(body);
  if (clone) {
    const child = Number(clone[2]);
    owner.set(child, clone[1]!.includes("CLONE_THREAD") ? owner.get(tid)! : child);
    continue;
  }
  const ex = /^execve\("([^"]*)", \[(.*?)\]/.exec(body);
  if (ex) {
    exe.set(owner.get(tid)!, `${ex[1]} ${hex(ex[2]!.replace(/[", ]/g, "")).toString("latin1")}`.slice(0, 300));
    continue;
  }
  const m = /^(write|pwrite64|read|writev|readv)\((\d+)<([^>]*(?:>[^>]*)?)>, (.*)\) = (-?\d+)/.exec(body);
  if (!m || Number(m[5]) <= 0) continue;
  const strings = [...m[4]!.matchAll(/"((?:\\x[0-9a-f]{2})*)"/g)].map((s) => hex(s[1]!));
  let data = Buffer.concat(m[1] === "writev" || m[1] === "readv" ? strings : strings.slice(0, 1));
  if (m[1]!.startsWith("read")) data = data.subarray(0, Number(m[5]));
  const fd = m[3]!.includes("\\x") ? hex(m[3]!).toString("utf8") : m[3]!; // -xx spells paths in hex too
  ios.push({ t, tid, call: m[1]!, fd, data, ret: Number(m[5]) });
}
const hostPid = [...exe].find(([, e]) => e.includes("host/dist/main.js"))?.[0];
const workerPids = new Set([...exe].filter(([, e]) => /worker\.blob|main\.bundle|worker\/dist/.test(e)).map(([p]) => p));
const who = (tid: number): string => {
  const p = owner.get(tid) ?? tid;
  return p === hostPid ? "host" : workerPids.has(p) ? "worker" : `pid ${p}`;
};

// Frames: a byte stream per (process, fd, direction) split at Content-Length headers.
interface Frame { t: number; from: string; to: string; bytes: number; kind: string; name: string; text: string }
const requested = new Map<string, string>(); // request id → method (ids of both directions: fine for counting)
const streams = new Map<string, { from: string; to: string; buf: Buffer; t: number; frames: Frame[]; writes: number[] }>();
const files = new Map<string, { writes: number; bytes: number }>();
interface Batch { t: number; owner: string; ops: number; bytes: number; keys: string[] }
const batches: Batch[] = [];
interface HttpMsg { t: number; from: string; peer: string; bytes: number; first: string }
const http: HttpMsg[] = [];
const modelPort = new URL(model.url).port;
const tgPort = new URL(tg.apiRoot).port;

function levelBatch(t: number, ownerName: string, data: Buffer): void {
  // log::Writer physical record: crc 4, length 2, type 1; then WriteBatch: sequence 8, count 4, records.
  let off = 0;
  const payload: Buffer[] = [];
  while (off + 7 <= data.length) {
    const len = data.readUInt16LE(off + 4);
    payload.push(data.subarray(off + 7, off + 7 + len));
    off += 7 + len;
  }
  const wb = Buffer.concat(payload);
  if (wb.length < 12) return;
  const count = wb.readUInt32LE(8);
  const keys: string[] = [];
  let p = 12;
  const varint = (): number => {
    let shift = 0;
    let v = 0;
    for (;;) {
      const b = wb[p++]!;
      v += (b & 0x7f) * 2 ** shift;
      if (b < 0x80) return v;
      shift += 7;
    }
  };
  for (let i = 0; i < count && p < wb.length; i++) {
    const type = wb[p++];
    const klen = varint();
    const key = wb.subarray(p, p + klen).toString("utf8");
    p += klen;
    if (type === 1) {
      const vlen = varint();
      p += vlen;
      keys.push(`put ${key.replace(/[0-9a-f-]{20,}/g, "…").replace(/\d{3,}/g, "#")} (${vlen} B)${show >= 0 ? ` ${wb.toString("utf8", p - vlen, p).slice(0, 400)}` : ""}`);
    } else keys.push(`del ${key.replace(/[0-9a-f-]{20,}/g, "…").replace(/\d{3,}/g, "#")}`);
  }
  batches.push({ t, owner: ownerName, ops: count, bytes: wb.length, keys });
}

for (const io of ios) {
  const proc = who(io.tid);
  const write = !io.call.startsWith("read");
  if (io.fd.startsWith("UNIX-STREAM")) {
    if (!write) continue; // every frame is counted once, where it is written
    // Child stdio is a socketpair: host → worker (the host writes the worker's stdin), worker → host (stdout), worker stderr.
    const key = `${proc} ${io.fd} ${owner.get(io.tid)}`;
    let s = streams.get(key);
    if (!s) streams.set(key, (s = { from: proc, to: proc === "host" ? "worker" : "host", buf: Buffer.alloc(0), t: io.t, frames: [], writes: [] }));
    s.buf = Buffer.concat([s.buf, io.data]);
    s.writes.push(io.t);
    for (;;) {
      const text = s.buf.toString("latin1", 0, Math.min(s.buf.length, 200));
      const h = /^Content-Length: (\d+)\r\n(?:[^\r\n]+\r\n)*\r\n/.exec(text);
      if (!h) {
        if (!text.startsWith("Content-Length") && s.buf.length > 0) {
          // not JSON-RPC (a log line on stderr): one message per write
          s.frames.push({ t: io.t, from: proc, to: "its stdout/stderr", bytes: s.buf.length, kind: "log line", name: "", text: s.buf.toString("utf8").slice(0, 300) });
          s.buf = Buffer.alloc(0);
        }
        break;
      }
      const len = Number(h[1]);
      if (s.buf.length < h[0].length + len) break;
      const json = JSON.parse(s.buf.subarray(h[0].length, h[0].length + len).toString("utf8")) as { id?: unknown; method?: string; params?: { event?: { type?: string }; type?: string; view?: string }; result?: unknown };
      const kind = json.method === undefined ? "response" : json.id === undefined ? "notification" : "request";
      const ev = json.params?.event?.type ?? json.params?.type;
      const name = json.method ? `${json.method}${ev ? ` ${ev}` : ""}${json.params?.view ? ` ${json.params.view}` : ""}` : `result of ${requested.get(String(json.id)) ?? "?"}`;
      if (kind === "request") requested.set(String(json.id), json.method!);
      s.frames.push({ t: io.t, from: proc, to: s.to, bytes: h[0].length + len, kind, name, text: s.buf.toString("utf8", h[0].length, h[0].length + len) });
      s.buf = s.buf.subarray(h[0].length + len);
    }
  } else if (io.fd.startsWith("TCP")) {
    const peer = io.fd.includes(`:${modelPort}]`) || io.fd.includes(`:${modelPort}->`) ? "model" : io.fd.includes(`:${tgPort}]`) || io.fd.includes(`:${tgPort}->`) ? "Bot API" : io.fd;
    http.push({ t: io.t, from: `${proc} ${write ? "sends" : "receives"}`, peer, bytes: io.data.length, first: io.data.toString("latin1", 0, 60).split("\r\n")[0]! });
  } else if (write && /\/\d+\.log$/.test(io.fd) && (io.fd.includes("/state/host/") || io.fd.includes("/conversations/") || io.fd.includes("/sessions/") || io.fd.includes("/store"))) {
    levelBatch(io.t, `${proc} ${io.fd.includes("/state/host/") ? "host db" : "session db"}`, io.data);
  } else if (write) {
    const k = `${proc} ${io.fd.replace(dir, "").replace(/[0-9a-f-]{20,}/g, "…").replace(/\d{3,}/g, "#")}`;
    const f = files.get(k) ?? { writes: 0, bytes: 0 };
    f.writes++;
    f.bytes += io.data.length;
    files.set(k, f);
  }
}

const inWindow = (t: number) => windows.some((w) => t >= w.from && t < w.to);
const frames = [...streams.values()].flatMap((s) => s.frames).filter((f) => inWindow(f.t));
const n = turns * conversations;
const per = (x: number) => (x / n).toFixed(2);
const group = <T>(items: T[], key: (x: T) => string, bytes: (x: T) => number) => {
  const g = new Map<string, { count: number; bytes: number }>();
  for (const it of items) {
    const e = g.get(key(it)) ?? { count: 0, bytes: 0 };
    e.count++;
    e.bytes += bytes(it);
    g.set(key(it), e);
  }
  return [...g].sort((a, b) => b[1].bytes - a[1].bytes);
};
console.log(`\n${turns} turns × ${conversations} conversation(s); per turn (count, bytes per item):`);
console.log("\nJSON-RPC frames (Content-Length header included):");
for (const [k, v] of group(frames, (f) => `${f.from} → ${f.to} ${f.kind} ${f.name}`, (f) => f.bytes)) console.log(`  ${k}: ${per(v.count)} × ${Math.round(v.bytes / v.count)} B`);
for (const from of ["host", "worker"]) {
  const writes = [...streams.values()].filter((s) => s.from === from && s.frames.some((f) => f.kind !== "log line")).flatMap((s) => s.writes).filter(inWindow).length;
  console.log(`  write syscalls carrying them, ${from}: ${per(writes)}`);
}
console.log("\nLevelDB batches (write-ahead-log records):");
const wb = batches.filter((b) => inWindow(b.t));
for (const [k, v] of group(wb, (b) => `${b.owner}: ${b.keys.map((x) => x.replace(/ \(\d+ B\).*$/, "").replace(/\d+/g, "#")).join(", ")}`, (b) => b.bytes)) console.log(`  ${per(v.count)} × ${Math.round(v.bytes / v.count)} B  ${k}`);
console.log(`  total host ${per(wb.filter((b) => b.owner.startsWith("host")).length)}, session ${per(wb.filter((b) => b.owner.startsWith("worker")).length)} batches per turn`);
console.log("\nHTTP (socket reads and writes):");
for (const [k, v] of group(http.filter((h) => inWindow(h.t)), (h) => `${h.from} ${h.peer}${h.from.endsWith("sends") ? ` ${h.first.replace(/\?.*$/, "").replace(/bot[^/]+\//, "bot…/")}` : ""}`, (h) => h.bytes)) console.log(`  ${k}: ${per(v.count)} syscalls, ${Math.round(v.bytes / n)} B per turn`);
console.log("\nOther files written:");
for (const [k, v] of [...files]) console.log(`  ${k}: ${v.writes} writes, ${v.bytes} B in the whole run`);
const calls = tg.calls().filter((c) => inWindow(c.at / 1000));
console.log(`\nBot API calls per turn: ${[...group(calls, (c) => c.method, () => 0)].map(([k, v]) => `${k} ${per(v.count)}`).join(", ")}`);
const req = model.requests.at(-1);
if (req) {
  const b = req.body as { messages?: { role: string; content: unknown }[]; tools?: unknown[] };
  const len = (x: unknown) => Buffer.byteLength(JSON.stringify(x));
  const sys = (b.messages ?? []).filter((m) => m.role === "system");
  const rest = (b.messages ?? []).filter((m) => m.role !== "system");
  const other = Object.fromEntries(Object.entries(b).filter(([k]) => k !== "messages" && k !== "tools"));
  console.log(`\nModel request (last): ${len(b)} B; system ${len(sys)} B (${sys.length} message); tools ${len(b.tools ?? [])} B (${(b.tools ?? []).length}); history ${len(rest)} B (${rest.length} messages); other fields ${len(other)} B ${JSON.stringify(other)}`);
}
if (show >= 0 && windows[show]) {
  const w = windows[show];
  console.log(`\nTurn ${show} in order (ms from the user's message):`);
  const rows: [number, string][] = [
    ...frames.filter((f) => f.t >= w.from && f.t < w.to).map((f): [number, string] => [f.t, `${f.from} → ${f.to} ${f.kind} ${f.name} ${f.bytes} B ${f.text}`]),
    ...wb.filter((b) => b.t >= w.from && b.t < w.to).map((b): [number, string] => [b.t, `${b.owner} batch ${b.ops} ops ${b.bytes} B: ${b.keys.join(", ")}`]),
    ...http.filter((h) => h.t >= w.from && h.t < w.to).map((h): [number, string] => [h.t, `${h.from} ${h.peer} ${h.bytes} B ${h.first}`]),
  ];
  for (const [t, s] of rows.sort((a, b) => a[0] - b[0])) console.log(`  ${((t - w.from) * 1000).toFixed(1).padStart(7)}  ${s}`);
}
if (process.env["PROBE_KEEP"] !== "1") rmSync(dir, { recursive: true, force: true });
else console.log(`kept ${dir}`);
