// An operator's NODE_OPTIONS may load code into the host (`--require dotenv/config`, an APM agent, a
// preload that prints a banner). Workers inherit NODE_OPTIONS, and a worker's stdout is the JSON-RPC
// wire: a preload's `console.log` runs before the worker guards its stdout, so the host never read the
// answer to `initialize` ("initialize did not answer within 30000 ms", after every restart a give-up
// notice in the chat), with the start-up snapshot and with the bundle alike. The host now withholds
// code-loading and inspector options from workers (workerNodeOptions), keeps the rest, and logs it.
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { RecordedRequest, ScriptedReply } from "../fakes/openai-server.js";
import { privateChat } from "../fakes/telegram-api.js";
import { lastUserText, startE2E, type E2E } from "./fixture.js";

const chat = privateChat(852, "Preload");
let e2e: E2E;
let preload: string;
let ran: string;

const SNAPSHOT_REFUSED = "without the start-up snapshot";

/** Starts the host with NODE_OPTIONS `${flags} --require "<preload>"` and asks once; the pids that ran the preload. */
async function answeredWith(flags: string, text: string): Promise<{ hostPid: number | undefined; preloadPids: number[] }> {
  writeFileSync(ran, "");
  const host = e2e.start({ NODE_OPTIONS: `${flags} --require "${preload}"` });
  try {
    expect(await e2e.ask(chat, text, { timeoutMs: 15_000 })).toMatch(new RegExp(`echo: [\\s\\S]*${text}$`));
    return { hostPid: host.child.pid, preloadPids: readFileSync(ran, "utf8").split("\n").filter(Boolean).map(Number) };
  } finally {
    await e2e.stop();
  }
}

const warnings = (part: string): string[] =>
  e2e.logRecords().flatMap((r) => (typeof r.msg === "string" && r.msg.includes(part) ? [r.msg] : []));

describe("NODE_OPTIONS with a preload that prints to stdout", () => {
  beforeAll(async () => {
    e2e = await startE2E({ responder: (req: RecordedRequest): ScriptedReply => ({ text: `echo: ${lastUserText(req)}` }), start: false, config: { adminUserIds: [chat.id] } });
    ran = join(e2e.dir, "preload-ran");
    preload = join(e2e.dir, "banner preload.cjs"); // a space: the quoted form
    writeFileSync(preload, `require("node:fs").appendFileSync(${JSON.stringify(ran)}, process.pid + "\\n"); console.log("banner: agent loaded");\n`);
  });
  afterAll(() => e2e?.close());

  it("from the start-up snapshot: answered; the preload ran in the host only; the log names the withheld option", async () => {
    const { hostPid, preloadPids } = await answeredWith("--max-semi-space-size=1", "hello");
    expect(preloadPids).toEqual([hostPid]);
    expect(warnings("withheld from workers")).toEqual([expect.stringContaining(`NODE_OPTIONS --require "${preload}" withheld from workers`)]);
    expect(warnings(SNAPSHOT_REFUSED)).toEqual([]);
  });

  it("from the bundle (the snapshot refuses a V8 flag): answered too; the kept flag still reaches the snapshot probe", async () => {
    const { hostPid, preloadPids } = await answeredWith("--max-old-space-size=4096", "again");
    expect(preloadPids).toEqual([hostPid]);
    expect(warnings(SNAPSHOT_REFUSED)).toEqual([expect.stringContaining('NODE_OPTIONS="--max-old-space-size=4096"')]);
  });
});
