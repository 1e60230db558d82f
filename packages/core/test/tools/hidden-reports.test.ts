// A real path a hidden path leads to that the worker finds mid-life (its link repointed while it runs) is reported
// to the host, which keeps it for later workers. No tool may run before the host answered: a command could repoint
// the link again, and a worker killed then would leave the host no record of where the path led. Real ToolRuntime,
// real shell and bwrap; the host's side of the request is the fake at the edge (`send`), the end-to-end case is
// test/e2e/hidden-midlife.test.ts.
import { existsSync, mkdirSync, mkdtempSync, realpathSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type FoundReal, probeBubblewrap, ToolSandbox } from "@starling/protocol";
import { describe, expect, it } from "vitest";
import { HiddenPathReports } from "../../src/tools/hidden-reports.js";
import { OutputStore } from "../../src/tools/output-store.js";
import { ShellSessions } from "../../src/tools/shell-sessions.js";
import { ToolProcessLauncher } from "../../src/tools/tool-process.js";
import { ToolRuntime } from "../../src/tools/tool-runtime.js";

const bwrap = await probeBubblewrap("bwrap");
if (!bwrap.ok) console.warn(`the bubblewrap case is skipped: ${bwrap.problem}`);

/** What a tool leaves when it ran: the command points the link back, as an agent could. */
const COMMAND = "echo ran > ran.txt; ln -sfn real link";

/**
 * A workspace with `link -> real` (as at the worker's start, which the host handed), then repointed to mid/ while the
 * worker runs; reports whose host answers once the worker waits for it (a worker that does not wait gets the answer
 * once the tool is done), noting whether the tool had run (`ran.txt`) by then.
 */
function world(ctx: { onTestFinished: (fn: () => void | Promise<void>) => void }) {
  const workspace = realpathSync(mkdtempSync(join(tmpdir(), "starling-hidden-reports-")));
  for (const dir of ["real", "mid"]) {
    mkdirSync(join(workspace, dir));
    writeFileSync(join(workspace, dir, "secret.env"), "TOKEN=x\n");
  }
  symlinkSync("real", join(workspace, "link"));
  const listed = join(workspace, "link", "secret.env");
  const handed = [listed, join(workspace, "real", "secret.env")];
  const sent: FoundReal[][] = [];
  const ranBeforeAnswer: boolean[] = [];
  let answer!: () => void;
  const answered = new Promise<void>((resolve) => (answer = resolve));
  const reports = new HiddenPathReports(handed, async (found) => {
    sent.push(found);
    await answered;
    ranBeforeAnswer.push(existsSync(join(workspace, "ran.txt")));
  });
  ctx.onTestFinished(() => {
    reports.dispose();
    rmSync(workspace, { recursive: true, force: true });
  });
  rmSync(join(workspace, "link"));
  symlinkSync("mid", join(workspace, "link"));
  const waited = { settled: () => (answer(), reports.settled()) };
  return { workspace, handed, sent, ranBeforeAnswer, answer, waited, mid: { listed, real: join(workspace, "mid", "secret.env") } };
}

describe("real paths of hidden paths found mid-life", () => {
  it("are reported by a tool call's lookup, and the tool runs only once the host answered", async (ctx) => {
    const w = world(ctx);
    const sandbox = ToolSandbox.parse({ mode: "subprocess", pidNamespace: false, hiddenPaths: w.handed });
    const runtime = new ToolRuntime({ workspace: w.workspace, sessionId: "test.foreground", sandbox, coordinate: async () => ({}) as never, hiddenReports: w.waited });
    ctx.onTestFinished(() => runtime.dispose());
    // A file tool: only the runtime's wait stands between its lookup and its run.
    const run = runtime.run({ id: "c1", name: "file_write", arguments: JSON.stringify({ file_path: "ran.txt", content: "ran\n" }) }, { turnId: 1, signal: new AbortController().signal });
    expect((await run.finally(w.answer)).isError).toBe(false);
    expect(w.sent).toEqual([[w.mid]]);
    expect(w.ranBeforeAnswer).toEqual([false]);
  });

  it.skipIf(!bwrap.ok)("are reported by bubblewrap's lookup for a command, which starts only once the host answered", async (ctx) => {
    const w = world(ctx);
    const sandbox = ToolSandbox.parse({ mode: "bubblewrap", hiddenPaths: w.handed });
    const launcher = new ToolProcessLauncher({ workspace: w.workspace, sandbox, hiddenReports: w.waited });
    const shells = new ShellSessions(w.workspace, new OutputStore(w.workspace), undefined, launcher);
    ctx.onTestFinished(async () => void (await shells.killAll()));
    const session = await shells.start(shells.newId(), COMMAND);
    expect(await shells.wait(session, 30_000, new AbortController().signal).finally(w.answer)).toBe("exited");
    expect(w.sent).toEqual([[w.mid]]);
    expect(w.ranBeforeAnswer).toEqual([false]);
    expect(existsSync(join(w.workspace, "ran.txt"))).toBe(true);
  });
});
