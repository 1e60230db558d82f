// The worker's start-up snapshot blob, built and its code cache trimmed (scripts/bundle-worker.mjs and
// packages/worker/test/snapshot.test.ts build it through `buildSnapshotBlob`).
// Node 20 keeps every byte of a --snapshot-blob in private memory for the life of the process, and the
// blob carries V8 code caches for ~320 built-in modules (2.9 MB), each copied into malloc at start. A
// built-in that was loaded while the snapshot was built sits compiled in the snapshot's heap and is never
// compiled again, so its cache is dead weight: ~1.9 MB of private memory per worker. The caches of
// built-ins loaded after start (node:http, node:net, … bound after deserialisation) are kept; those of
// built-ins a worker never loads (NEVER_LOADED) or loads only on rare paths (RARELY_LOADED) are dropped as well.
//
// Layout (Node 20, src/node_snapshotable.cc, SnapshotData::ToBlob): the blob's last field is the code
// cache, a vector<CodeCacheInfo>: uint64 count, then per entry uint64 id length, id bytes, uint64 data
// length, data bytes (little-endian). The vector is found as the one offset from which it parses to the
// exact end of the file with plausible ids; no match (another layout) leaves the blob alone.
import { execFileSync } from "node:child_process";
import { readFileSync, renameSync, rmSync, writeFileSync } from "node:fs";

/**
 * Built-ins a worker never loads (the REPL, the test runner, the debugger, watch mode, other entry
 * modes, cluster, WASI; HTTP/2, policies, frozen intrinsics, domains, trace events, diagnostic
 * reports, `vm` modules, the V8 profile processor, single executables, console.table, util.parseArgs;
 * the bootstrap of a worker thread or a realm: a worker starts no threads, and a new `vm` context
 * measured the same CPU without the per-context scripts' caches): their caches go too (~0.53 MB).
 * Should one be loaded after all, Node compiles it from its source, once.
 */
const NEVER_LOADED = new RegExp(
  "^(" +
    [
      "repl|internal/repl(/.*)?|test(/.*)?|internal/test(_runner)?/.*|internal/debugger/.*|internal/deps/acorn/.*|internal/watch_mode/.*",
      "internal/main/.*|wasi|cluster|internal/cluster/.*",
      "http2|internal/http2/.*|internal/policy/.*|internal/process/policy|internal/freeze_intrinsics|domain",
      "trace_events|internal/trace_events_async_hooks|internal/process/report|internal/vm/module|internal/v8_prof_.*",
      "sea|internal/cli_table|internal/util/parse_args/.*|internal/inspector_network_tracking",
      "internal/per_context/.*|internal/bootstrap/.*|internal/process/worker_thread_only",
    ].join("|") +
    ")$",
);
/**
 * Built-ins only a rare path loads (a worker's model calls go through node:http(s); `fetch` only for web
 * tools, downloads and multipart uploads): undici, zlib and the web streams' adapters (compiled from
 * source, fetch with zlib and the streams costs that worker ~4-7 ms of CPU once), Web Crypto, inspector,
 * perf_hooks, fs.cp, source maps, ESM loader hooks, minimatch, … (~0.2 MB of code cache, each entry also
 * copied into malloc at start). Kept: dgram (child_process loads it) and the readable, writable and
 * transform streams (the MCP client's module extends TransformStream).
 */
const RARELY_LOADED = new RegExp(
  "^(" +
    [
      "internal/webstreams/(adapters|transfer|encoding|compression)|stream/web|stream/consumers|internal/deps/undici/undici|zlib|internal/crypto/(webidl|aes|rsa|ec|cfrg|mac)",
      "inspector(/promises)?|internal/histogram|internal/perf/.*|perf_hooks|internal/fs/cp/.*|internal/fs/read/context",
      "internal/deps/minimatch/index|internal/mime|internal/util/comparisons|assert/strict|punycode|internal/blocklist|internal/socketaddress",
      "internal/navigator|internal/wasm_web_api|internal/legacy/processbinding|internal/source_map/.*|internal/watchdog|internal/file",
      "internal/js_stream_socket|_stream_wrap|internal/tls/secure-pair|sys|constants|path/win32",
      "internal/modules/esm/(worker|hooks)",
    ].join("|") +
    ")$",
);

/**
 * The code cache entries of a blob: where the vector starts and each entry's id and byte range.
 * @param {Buffer} buf
 * @returns {{ offset: number, entries: { id: string, start: number, end: number }[] } | null}
 */
export function readCodeCache(buf) {
  for (let offset = buf.length - 8; offset >= 0; offset--) {
    const entries = parseFrom(buf, offset);
    if (entries) return { offset, entries };
  }
  return null;
}

/** @param {Buffer} buf @param {number} offset */
function parseFrom(buf, offset) {
  const count = Number(buf.readBigUInt64LE(offset));
  if (count < 1 || count > 5000) return null;
  const entries = [];
  let at = offset + 8;
  for (let i = 0; i < count; i++) {
    const start = at;
    if (at + 8 > buf.length) return null;
    const idLength = Number(buf.readBigUInt64LE(at));
    at += 8;
    if (idLength < 1 || idLength > 200 || at + idLength > buf.length) return null;
    const id = buf.toString("latin1", at, at + idLength);
    if (!/^[\w/.-]+$/.test(id)) return null;
    at += idLength;
    if (at + 8 > buf.length) return null;
    const dataLength = Number(buf.readBigUInt64LE(at));
    at += 8;
    if (dataLength > buf.length - at) return null;
    at += dataLength;
    entries.push({ id, start, end: at });
  }
  return at === buf.length ? entries : null;
}

/**
 * Writes `to`: the blob at `from` without the code cache of the built-ins in `loadedAtBuild` (ids as in
 * `process.moduleLoadList`'s "NativeModule <id>" while the snapshot was built). Returns what it dropped,
 * or null (nothing written) when the blob's code cache cannot be found.
 * @param {string} from @param {string} to @param {readonly string[]} loadedAtBuild
 * @returns {{ kept: number, dropped: number, droppedBytes: number } | null}
 */
export function trimCodeCache(from, to, loadedAtBuild) {
  const buf = readFileSync(from);
  const cache = readCodeCache(buf);
  if (!cache) return null;
  const loaded = new Set(loadedAtBuild);
  const kept = cache.entries.filter((e) => !loaded.has(e.id) && !NEVER_LOADED.test(e.id) && !RARELY_LOADED.test(e.id));
  const count = Buffer.alloc(8);
  count.writeBigUInt64LE(BigInt(kept.length));
  writeFileSync(to, Buffer.concat([buf.subarray(0, cache.offset), count, ...kept.map((e) => buf.subarray(e.start, e.end))]));
  const droppedBytes = cache.entries.reduce((sum, e) => sum + e.end - e.start, 0) - kept.reduce((sum, e) => sum + e.end - e.start, 0);
  return { kept: kept.length, dropped: cache.entries.length - kept.length, droppedBytes };
}

/**
 * Builds the start-up snapshot of `script` into `blob` (`node --build-snapshot`; throws with Node's
 * output when that fails), then drops the code cache of built-ins the snapshot already holds compiled
 * (`trimCodeCache`: ~1.9 MB of private memory per worker) and starts the trimmed blob once (a worker
 * whose stdin is closed exits 0 at once). Should the trim fail, the blob stays as Node wrote it, with a
 * warning. Returns the built-ins loaded at build time and the code cache's ids before the trim.
 * @param {{ script: string, blob: string, nodeFlags: readonly string[], cwd: string, env?: NodeJS.ProcessEnv }} o
 * @returns {{ loadedAtBuild: string[], cacheBefore: string[] }}
 */
export function buildSnapshotBlob({ script, blob, nodeFlags, cwd, env = process.env }) {
  const builtinsFile = `${blob}.builtins.json`;
  const trimmed = `${blob}.trimmed`;
  try {
    // The snapshot's serialise callback writes the built-ins it holds there (snapshotShims in bundle-worker.mjs).
    execFileSync(process.execPath, [...nodeFlags, "--snapshot-blob", blob, "--build-snapshot", script], {
      cwd,
      stdio: ["ignore", "pipe", "pipe"],
      encoding: "utf8",
      env: { ...env, STARLING_SNAPSHOT_BUILTINS_OUT: builtinsFile },
    });
    /** @type {string[]} */
    const loadedAtBuild = JSON.parse(readFileSync(builtinsFile, "utf8"));
    const cacheBefore = readCodeCache(readFileSync(blob))?.entries.map((e) => e.id) ?? [];
    try {
      if (!trimCodeCache(blob, trimmed, loadedAtBuild)) throw new Error("no code cache found where Node 20 puts it");
      execFileSync(process.execPath, [...nodeFlags, "--snapshot-blob", trimmed], { input: "", stdio: ["pipe", "ignore", "pipe"], timeout: 30_000 });
      renameSync(trimmed, blob);
    } catch (err) {
      console.warn(`the snapshot keeps its whole code cache: ${err instanceof Error ? err.message : String(err)}`);
    }
    return { loadedAtBuild, cacheBefore };
  } finally {
    rmSync(trimmed, { force: true });
    rmSync(builtinsFile, { force: true });
  }
}
