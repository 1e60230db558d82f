// Reads every session transcript of a stopped host's workdir through the worker protocol
// (`initialize` with the session's dataDir, then `session/query transcript_page`), the way any
// embedder would: no knowledge of the session store's layout beyond where the databases live.
import { existsSync, readdirSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { PROTOCOL_VERSION, spawnWorker, type InitializeParams, type TranscriptMessage } from "@starling/protocol";
import { cronSlotsIn, type TranscriptRecord } from "./history.js";

const WORKER_MAIN = fileURLToPath(new URL("../../packages/worker/dist/main.js", import.meta.url));

/** `{sessionId, workspace, dataDir}` of every live and archived session database under `workdir`. */
export function sessionDatabases(workdir: string): { sessionId: string; workspace: string; dataDir: string }[] {
  const root = join(workdir, "conversations");
  if (!existsSync(root)) return [];
  const out: { sessionId: string; workspace: string; dataDir: string }[] = [];
  for (const conversation of readdirSync(root)) {
    const workspace = join(root, conversation);
    for (const folder of ["sessions", "archive"]) {
      const dir = join(workspace, ".starling", folder);
      if (!existsSync(dir)) continue;
      for (const name of readdirSync(dir)) {
        const dataDir = join(dir, name, "db");
        if (existsSync(dataDir)) out.push({ sessionId: `${folder === "archive" ? "archived:" : ""}${name}`, workspace, dataDir });
      }
    }
  }
  return out;
}

/** One session's transcript (all pages) and whether it has an unfinished turn. */
export async function readTranscript(db: { sessionId: string; workspace: string; dataDir: string }, modelUrl: string): Promise<TranscriptRecord> {
  const client = spawnWorker({
    command: [process.execPath, WORKER_MAIN],
    cwd: db.workspace,
    env: { ...process.env, HOME: db.workspace, STARLING_LOG_LEVEL: "error", STARLING_CRASH_AT: "" },
    stderr: () => undefined,
  });
  try {
    const init: InitializeParams = {
      protocolVersion: PROTOCOL_VERSION,
      sessionId: db.sessionId.replace(/^archived:/, ""),
      sessionType: "foreground",
      workspace: db.workspace,
      dataDir: db.dataDir,
      model: { provider_type: "open_router_completion", model_name: "fake-model", url: modelUrl, capabilities: ["chat"] } as InitializeParams["model"],
    };
    const summary = await client.initialize(init);
    const messages: TranscriptMessage[] = [];
    for (let offset = 0; ; ) {
      const page = await client.query({ view: "transcript_page", source: "all", offset, limit: 500 });
      if (page.view !== "transcript_page") throw new Error(`unexpected query answer ${page.view}`);
      messages.push(...page.messages);
      offset += page.messages.length;
      if (page.messages.length === 0 || offset >= page.total) break;
    }
    const items = messages.flatMap((m) => m.content);
    return {
      sessionId: db.sessionId,
      toolCalls: items.flatMap((i) => (i.type === "tool_call" ? [{ id: i.id, name: i.name }] : [])),
      toolResults: items.flatMap((i) => (i.type === "tool_result" ? [i.callId] : [])),
      unfinishedTurn: summary.unfinishedTurn !== null,
      cronSlots: messages
        .filter((m) => m.role === "user")
        .flatMap((m) => m.content.flatMap((i) => (i.type === "text" ? cronSlotsIn(i.text) : []))),
    };
  } finally {
    await client.close(5_000);
  }
}

/** Read three at a time: a soak with /new and cron leaves a dozen databases, each read by its own worker. */
export async function readAllTranscripts(workdir: string, modelUrl: string): Promise<TranscriptRecord[]> {
  const dbs = sessionDatabases(workdir);
  const out: TranscriptRecord[] = new Array(dbs.length);
  let next = 0;
  const reader = async () => {
    for (let i = next++; i < dbs.length; i = next++) out[i] = await readTranscript(dbs[i]!, modelUrl);
  };
  await Promise.all([reader(), reader(), reader()]);
  return out;
}
