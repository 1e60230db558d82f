// NODE_OPTIONS for workers: the host's options minus those that load code (a preload's console.log would
// corrupt the worker's stdout, the JSON-RPC wire) or open the inspector; split as Node splits it.
import { describe, expect, it } from "vitest";
import { splitNodeOptions, withheldNodeOptionsWarning, workerNodeOptions } from "../../src/worker-node-options.js";

describe("splitNodeOptions (as Node's ParseNodeOptionsEnvVar)", () => {
  it("splits at spaces outside double quotes; quotes and escapes are removed from the value, kept in the raw text", () => {
    expect(splitNodeOptions(`  --a  -r "/x y/p.cjs" --b="/q \\"z\\".js"`)).toEqual([
      { value: "--a", raw: "--a" },
      { value: "-r", raw: "-r" },
      { value: "/x y/p.cjs", raw: `"/x y/p.cjs"` },
      { value: `--b=/q "z".js`, raw: `--b="/q \\"z\\".js"` },
    ]);
  });

  it("a tab is no separator, a backslash outside quotes is literal, and \"\" alone is no argument", () => {
    expect(splitNodeOptions("--a\t--b c\\ d \"\" e").map((a) => a.value)).toEqual(["--a\t--b", "c\\", "d", "e"]);
    expect(splitNodeOptions("")).toEqual([]);
  });
});

describe("workerNodeOptions", () => {
  it("leaves out --require/-r, --import and --experimental-loader/--loader in both forms, with their values", () => {
    const r = workerNodeOptions(`--max-old-space-size=4096 --require /opt/apm/start.js -r=a.cjs -r dotenv/config --import=/x/i.mjs --import "/my dir/i.mjs" --loader ts-node/esm --experimental-loader=./l.mjs --no-warnings`);
    expect(r.value).toBe("--max-old-space-size=4096 --no-warnings");
    expect(r.withheld).toEqual([
      "--require /opt/apm/start.js",
      "-r=a.cjs",
      "-r dotenv/config",
      "--import=/x/i.mjs",
      `--import "/my dir/i.mjs"`,
      "--loader ts-node/esm",
      "--experimental-loader=./l.mjs",
    ]);
  });

  it("leaves out the inspector options; --inspect takes no separate value, --inspect-port does", () => {
    const r = workerNodeOptions("--inspect --inspect=0.0.0.0:9229 --inspect-brk --inspect_brk=9230 --inspect-wait --inspect-port 9231 --debug-port=9232 --inspect-publish-uid=http --stack-size=2000");
    expect(r.value).toBe("--stack-size=2000");
    expect(r.withheld).toEqual(["--inspect", "--inspect=0.0.0.0:9229", "--inspect-brk", "--inspect_brk=9230", "--inspect-wait", "--inspect-port 9231", "--debug-port=9232", "--inspect-publish-uid=http"]);
  });

  it("keeps every other option exactly as written and in order, quotes included", () => {
    const text = `--max-old-space-size=512  --title="my host" --trace-warnings --dns-result-order ipv4first --no-experimental-fetch`;
    const r = workerNodeOptions(`-r ./p.cjs ${text}`);
    expect(r.value).toBe(`--max-old-space-size=512 --title="my host" --trace-warnings --dns-result-order ipv4first --no-experimental-fetch`);
    expect(workerNodeOptions(text)).toEqual({ value: r.value, withheld: [] });
  });

  it("an option that would need a value takes none that starts with '-' (Node refuses that: \"requires an argument\")", () => {
    expect(workerNodeOptions("--require --max-old-space-size=100")).toEqual({ value: "--max-old-space-size=100", withheld: ["--require"] });
    expect(workerNodeOptions("--max-old-space-size=100 --import")).toEqual({ value: "--max-old-space-size=100", withheld: ["--import"] });
  });

  it("nothing left, or nothing set: no NODE_OPTIONS (undefined), no warning", () => {
    expect(workerNodeOptions("--require x.cjs --inspect")).toEqual({ value: undefined, withheld: ["--require x.cjs", "--inspect"] });
    expect(workerNodeOptions(undefined)).toEqual({ value: undefined, withheld: [] });
    expect(workerNodeOptions("   ")).toEqual({ value: undefined, withheld: [] });
    expect(withheldNodeOptionsWarning("--max-old-space-size=100")).toBeNull();
    expect(withheldNodeOptionsWarning(undefined)).toBeNull();
  });

  it("the warning names what was withheld, as written", () => {
    expect(withheldNodeOptionsWarning(`--require "/a b.cjs" --inspect=9229 --no-warnings`)).toMatch(/^NODE_OPTIONS --require "\/a b.cjs" --inspect=9229 withheld from workers/);
  });
});
