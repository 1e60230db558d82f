// The host's V8 flags are written in three places that cannot import them (main.ts's `#!` line,
// `pnpm start`, the bench's host start): they stay equal to HOST_NODE_FLAGS, and the `#!` line works.
import { execFileSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { HOST_NODE_FLAGS } from "../../src/worker-path.js";

const root = fileURLToPath(new URL("../../../../", import.meta.url));
const flags = HOST_NODE_FLAGS.join(" ");

describe("host node flags", () => {
  it("main.js, pnpm start and the bench start the host with HOST_NODE_FLAGS", () => {
    expect(readFileSync(`${root}packages/host/src/main.ts`, "utf8").split("\n")[0]).toBe(`#!/usr/bin/env -S node ${flags} --`);
    const pkg = JSON.parse(readFileSync(`${root}package.json`, "utf8")) as { scripts: Record<string, string> };
    expect(pkg.scripts["start"]).toBe(`node ${flags} packages/host/dist/main.js`);
    expect(readFileSync(`${root}test/bench/host-process.ts`, "utf8")).toContain(`[process.execPath, ${HOST_NODE_FLAGS.map((f) => JSON.stringify(f)).join(", ")}, ...nodeArgs, HOST_MAIN`);
  });

  it("the built main.js's #! line starts it (as the kernel runs it: the interpreter gets the rest of the line as one argument)", () => {
    const main = `${root}packages/host/dist/main.js`;
    const line = readFileSync(main, "utf8").split("\n")[0]!;
    const [, interpreter, argument] = /^#!(\S+) (.*)$/.exec(line) ?? [];
    expect(interpreter).toBe("/usr/bin/env");
    const out = execFileSync(interpreter!, [argument!, main, "--version"], { encoding: "utf8" });
    expect(out).toMatch(/^starling \d+\.\d+\.\d+/);
  });

  it("the #! line ends node's options: starling's own --env-file is not read by node (Node 20 exits 9 on a missing one)", () => {
    const main = `${root}packages/host/dist/main.js`;
    const [, interpreter, argument] = /^#!(\S+) (.*)$/.exec(readFileSync(main, "utf8").split("\n")[0]!) ?? [];
    const out = execFileSync(interpreter!, [argument!, main, "--env-file", "/nonexistent/starling.env", "--version"], { encoding: "utf8" });
    expect(out).toMatch(/^starling \d+\.\d+\.\d+/);
  });
});
