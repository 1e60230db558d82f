// A hidden path listed through a link the agent can repoint (`shared/shared-link/team.env`): the host records where it
// led at each worker start, but a real path a worker first found LATER in its life (the link repointed while it ran)
// was remembered by that worker only. Once the worker was gone and the link pointed elsewhere, the next worker masked
// nothing there and `cat` read it. The worker now reports each real path it finds to the host, which stores it before
// the next command runs. Through the real CLI, real workers and real bwrap; the host is killed (SIGKILL), so what
// the next worker masks was stored when it was found, not at a graceful shutdown.
import { mkdirSync, readFileSync, symlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { probeBubblewrap } from "@starling/protocol";
import type { RecordedRequest, ScriptedReply } from "../fakes/openai-server.js";
import { privateChat } from "../fakes/telegram-api.js";
import { contentText, lastUserText, startE2E, wireMessages, type E2E } from "./fixture.js";

const probe = await probeBubblewrap("bwrap");
if (!probe.ok) console.warn(`bubblewrap end-to-end test skipped: ${probe.problem}`);

const START_SECRET = "start-target-secret-51c2";
const MID_SECRET = "mid-life-target-secret-9e07";
const chat = privateChat(311, "Mid");
/** Each turn's tool calls by tag: one shell command per model response. */
const steps = new Map<string, string[]>();
let e2e: E2E;

function respond(req: RecordedRequest): ScriptedReply {
  const ask = lastUserText(req);
  const plan = [...steps.entries()].find(([tag]) => ask.includes(tag))?.[1];
  if (!plan) return { text: "A default answer." };
  const messages = wireMessages(req);
  const done = messages.slice(messages.map((m) => m.role).lastIndexOf("user")).filter((m) => m.role === "assistant").length;
  return done < plan.length ? { toolCalls: [{ name: "shell", arguments: { command: plan[done]!, wait_ms: 60_000 } }] } : { text: "Probe finished." };
}

/** The tool results of the turn started by `tag`, in order. */
function toolResults(tag: string): string[] {
  const req = [...e2e.model.requests].reverse().find((r) => lastUserText(r).includes(tag))!;
  const messages = wireMessages(req);
  return messages.slice(messages.map((m) => m.role).lastIndexOf("user")).filter((m) => m.role === "tool").map(contentText);
}

beforeAll(async () => {
  e2e = await startE2E({ responder: respond, start: false, config: { adminUserIds: [chat.id] } });
  const shared = join(e2e.workdir, "rundir", "shared");
  for (const [dir, secret] of [["shared-real", START_SECRET], ["shared-mid", MID_SECRET]] as const) {
    mkdirSync(join(shared, dir), { recursive: true });
    writeFileSync(join(shared, dir, "team.env"), `${secret}\n`);
  }
  mkdirSync(join(shared, "shared-else"));
  symlinkSync("shared-real", join(shared, "shared-link"));
  const config = JSON.parse(readFileSync(e2e.configPath, "utf8"));
  config.sandbox = { mode: "bubblewrap", bubblewrap_binary: "bwrap", hidden_paths: [join(shared, "shared-link", "team.env")] };
  writeFileSync(e2e.configPath, JSON.stringify(config, null, 2));
  if (probe.ok) e2e.start();
});

afterAll(async () => {
  await e2e?.close();
});

describe("a hidden path's real target found mid-life", { timeout: 120_000 }, () => {
  it.skipIf(!probe.ok)("stays masked for the next worker after the link is repointed again and the host killed", async () => {
    const size = (path: string) => `echo "size=[$(cat ${path} 2>/dev/null | wc -c)]"`;
    steps.set("[mid-life]", [
      // The worker started with the link at shared-real (the host recorded that); it is repointed while the worker runs.
      "ln -sfn shared-mid shared/shared-link && echo repointed-mid",
      // The next command's lookup finds the new target and masks it.
      size("shared/shared-link/team.env"),
      "ln -sfn shared-else shared/shared-link && echo repointed-else",
    ]);
    expect(await e2e.ask(chat, "move the link around [mid-life]")).toBe("Probe finished.");
    const [mid, masked, away] = toolResults("[mid-life]");
    expect(mid).toContain("repointed-mid");
    expect(masked).toContain("size=[0]");
    expect(away).toContain("repointed-else");
    await e2e.stop("SIGKILL");
    e2e.start();
    steps.set("[after]", [`${size("shared/shared-mid/team.env")}; ${size("shared/shared-real/team.env")}; echo done`]);
    expect(await e2e.ask(chat, "read the old targets [after]")).toBe("Probe finished.");
    const after = toolResults("[after]")[0] ?? "";
    expect(after).toContain("done");
    // Both the target found at the first worker's start and the one found mid-life: nothing read.
    expect(after.match(/size=\[\d+\]/g)).toEqual(["size=[0]", "size=[0]"]);
    for (const r of e2e.model.requests) expect(JSON.stringify(r.body)).not.toMatch(new RegExp(`${MID_SECRET}|${START_SECRET}`));
  });
});
