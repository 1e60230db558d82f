// The config file may carry comments: it loads, an upgrade keeps them, and the README's example loads.
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { CONFIG_VERSION, loadConfig } from "../src/index.js";
import { parseJsonText } from "../src/json-text.js";
import { rewriteJsonc } from "../src/jsonc-edit.js";
import { ENV, FIXTURES, tempDir } from "./helpers.js";

const README = new URL("../../README.md", import.meta.url).pathname;

describe("JSONC config files", () => {
  it("an upgrade from 0.3 keeps the user's comments and rewrites only what changed", () => {
    const original = readFileSync(join(FIXTURES, "v0.3.json"), "utf8")
      .replace('"version": "0.3",', '// my home bot\n  "version": "0.3", /* upgraded by starling */')
      .replace('"workers":', '// two turns at a time is enough here\n  "workers":');
    const path = join(tempDir(), "starling.jsonc");
    writeFileSync(path, original);
    const result = loadConfig(path, { env: ENV });
    if (!result.ok) throw new Error(result.errors.join("\n"));
    expect(result.upgradedFrom).toBe("0.3");
    const rewritten = readFileSync(path, "utf8");
    expect(rewritten).toContain("// my home bot");
    expect(rewritten).toContain("/* upgraded by starling */");
    expect(rewritten).toContain("// two turns at a time is enough here");
    expect(rewritten).toContain(`"version": "${CONFIG_VERSION}"`);
    expect(readFileSync(`${path}.bak`, "utf8")).toBe(original);
    // The rewritten file loads as the latest version without another upgrade.
    const again = loadConfig(path, { env: ENV });
    expect(again.ok && again.upgradedFrom).toBe(undefined);
  });

  it("rewriteJsonc always reproduces the target value", () => {
    const text = '{\n  // c\n  "a": 1,\n  "list": [1, 2],\n  "gone": true\n}\n';
    const after = { a: 2, list: [1, 2, 3], added: { x: "y" } };
    const out = rewriteJsonc(text, { a: 1, list: [1, 2], gone: true }, after);
    expect(out).toContain("// c");
    expect(parseJsonText(out)).toEqual({ ok: true, value: after });
  });

  it("the ```jsonc block in README.md loads", () => {
    const block = /```jsonc\n([\s\S]*?)```/.exec(readFileSync(README, "utf8"))?.[1];
    expect(block, "README.md has a ```jsonc block").toBeTruthy();
    const path = join(tempDir(), "starling.jsonc");
    writeFileSync(path, block!);
    const result = loadConfig(path, { env: ENV });
    if (!result.ok) throw new Error(`README config: ${result.errors.join("\n")}`);
    expect(Object.keys(result.config.models)).toContain("main");
  });

  it("a syntax error names the line and column", () => {
    const path = join(tempDir(), "starling.jsonc");
    writeFileSync(path, '{\n  // fine\n  "version": "0.4"\n  "models": {}\n}\n');
    const result = loadConfig(path, { env: ENV });
    expect(result.ok).toBe(false);
    if (!result.ok) expect(result.errors[0]).toMatch(/line 4, column 3: expected ',' between items/);
  });
});
