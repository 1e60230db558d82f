// A worker's memory of where hidden paths led (HiddenPathMemory): a listed path reached through a link the agent
// can repoint stays hidden where it led, and repointing it over and over is bounded.
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, unlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, expect, it } from "vitest";
import { HiddenPathMemory, MAX_REMEMBERED_PER_PATH } from "../src/index.js";

let dir: string;
afterEach(() => rmSync(dir, { recursive: true, force: true }));

it("remembers the first real paths a repointed link led to, at most MAX_REMEMBERED_PER_PATH per listed path", () => {
  dir = mkdtempSync(join(tmpdir(), "hidden-memory-"));
  const link = join(dir, "secret.env");
  const targets = Array.from({ length: MAX_REMEMBERED_PER_PATH + 5 }, (_, i) => join(dir, `target-${i}`));
  const memory = new HiddenPathMemory();
  for (const target of targets) {
    writeFileSync(target, "x");
    rmSync(link, { force: true });
    symlinkSync(target, link);
    memory.entries([link]);
  }
  unlinkSync(link);
  mkdirSync(join(dir, "elsewhere"));
  const reals = memory.entries([link]).map((e) => e.real);
  // The link is gone: what is still hidden is what was remembered, the earliest targets first (the operator's
  // own target comes first), and no more than the bound however often the link was repointed.
  expect(reals).toEqual(targets.slice(0, MAX_REMEMBERED_PER_PATH));
});

it("never hides a folder every sandboxed command needs, whatever link a tool repointed on the way", () => {
  dir = mkdtempSync(join(tmpdir(), "hidden-memory-"));
  const link = join(dir, "keys");
  writeFileSync(join(dir, "secret.env"), "x");
  symlinkSync(join(dir, "secret.env"), link);
  const memory = new HiddenPathMemory();
  expect(memory.entries([link]).map((e) => e.real)).toEqual([join(dir, "secret.env")]);
  // A command in the workspace points the link at /usr (or at /): masking what it leads to now would leave every
  // later command of the conversation without /usr, at every worker start when the host remembered the path.
  for (const target of ["/usr", "/", "/usr/lib"]) {
    unlinkSync(link);
    symlinkSync(target, link);
    expect(memory.entries([link]).map((e) => e.real)).toEqual([join(dir, "secret.env")]);
  }
});
