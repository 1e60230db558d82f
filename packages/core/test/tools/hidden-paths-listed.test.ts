// How a `sandbox.hidden_paths` entry is written does not break the file tools: one with a trailing slash still
// hides the file it names, and one that goes through a file (ENOTDIR) hides nothing and breaks nothing. Real
// files, the real ToolRuntime; the end-to-end cases are in test/conformance/hidden-files.test.ts.
import { mkdir, mkdtemp, realpath, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { bubblewrapArgs, ToolSandbox } from "@starling/protocol";
import { describe, expect, it } from "vitest";
import { ToolRuntime } from "../../src/tools/tool-runtime.js";

const SECRET = "listed-with-slash-secret-7f2a";

async function setup(ctx: { onTestFinished: (fn: () => Promise<void>) => void }, hidden: (ws: string) => string[]) {
  const base = await realpath(await mkdtemp(join(tmpdir(), "starling-hidden-listed-")));
  const workspace = join(base, "ws");
  await mkdir(workspace);
  await writeFile(join(workspace, "secret.env"), `TOKEN=${SECRET}\n`);
  await writeFile(join(workspace, "notes.txt"), "ordinary notes\n");
  const sandbox = ToolSandbox.parse({ mode: "subprocess", hiddenPaths: hidden(workspace) });
  const runtime = new ToolRuntime({ workspace, sessionId: "test.foreground", sandbox, coordinate: async () => ({}) as never });
  ctx.onTestFinished(async () => {
    await runtime.dispose();
    await rm(base, { recursive: true, force: true });
  });
  let n = 0;
  const call = (name: string, args: Record<string, unknown>) =>
    runtime.run({ id: `c${++n}`, name, arguments: JSON.stringify(args) }, { turnId: 1, signal: new AbortController().signal });
  return { workspace, sandbox, call };
}

describe("sandbox.hidden_paths entries as the operator wrote them", () => {
  it("a file listed with a trailing slash is hidden, and the other files are read as usual", async (ctx) => {
    const { call } = await setup(ctx, (ws) => [`${join(ws, "secret.env")}/`]);
    expect(await call("file_read", { file_path: "notes.txt" })).toMatchObject({ isError: false, content: expect.stringContaining("ordinary notes") });
    const secret = await call("file_read", { file_path: "secret.env" });
    expect(secret).toMatchObject({ isError: true, content: expect.stringContaining("hidden by sandbox.hidden_paths") });
    const grep = await call("grep", { pattern: "TOKEN" });
    expect(grep.isError).toBe(false);
    expect(grep.content).not.toContain(SECRET);
  });

  it("an entry that goes through a file (nothing there to hide) breaks no tool", async (ctx) => {
    const { call } = await setup(ctx, (ws) => [join(ws, "notes.txt", "inner"), join(ws, "secret.env")]);
    expect(await call("file_read", { file_path: "notes.txt" })).toMatchObject({ isError: false, content: expect.stringContaining("ordinary notes") });
    expect(await call("ls", {})).toMatchObject({ isError: false, content: expect.stringContaining("notes.txt") });
    expect(await call("file_read", { file_path: "secret.env" })).toMatchObject({ isError: true, content: expect.stringContaining("hidden by sandbox.hidden_paths") });
  });

  it("bubblewrap masks a file listed with a trailing slash and passes over an entry through a file", async (ctx) => {
    const { workspace } = await setup(ctx, () => []);
    const sandbox = ToolSandbox.parse({ mode: "bubblewrap", hiddenPaths: [`${join(workspace, "secret.env")}/`, join(workspace, "notes.txt", "inner")] });
    const args = bubblewrapArgs(workspace, sandbox, {}, workspace);
    const masked = args.flatMap((arg, i) => (arg === "--ro-bind" && args[i + 1] === "/dev/null" ? [args[i + 2]] : []));
    expect(masked).toContain(join(workspace, "secret.env"));
    expect(args.join(" ")).not.toContain("inner");
  });
});
