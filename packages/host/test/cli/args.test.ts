// `starling` argument parsing: each command's own help, and options or arguments a command does not
// use refused (exit 2) instead of silently ignored.
import { describe, expect, it } from "vitest";
import { CliUsageError, helpText, parseCli } from "../../src/cli/args.js";

function usageError(argv: string[]): CliUsageError {
  try {
    parseCli(argv);
  } catch (err) {
    if (err instanceof CliUsageError) return err;
    throw err;
  }
  throw new Error(`parseCli(${argv.join(" ")}) did not refuse`);
}

describe("starling COMMAND --help", () => {
  it("names the command's own options in full", () => {
    expect(parseCli(["doctor", "--help"])).toEqual({ kind: "help", command: "doctor" });
    expect(helpText("doctor")).toMatch(/^Usage: starling doctor /);
    expect(helpText("doctor")).toContain("--fix");
    expect(helpText("audit")).toContain("--since TIME");
    expect(helpText("init")).toContain("--api-key-env NAME");
    expect(parseCli(["service", "install", "-h"])).toEqual({ kind: "help", command: "service" });
  });

  it("starling --help is the overview of every command", () => {
    expect(parseCli(["--help"])).toEqual({ kind: "help" });
    const overview = helpText();
    for (const command of ["init", "doctor", "service", "audit"]) expect(overview).toContain(`starling ${command}`);
  });
});

describe("options a command does not use", () => {
  it("are refused with the command's help, not ignored", () => {
    const e = usageError(["audit", "--workdir", "/w", "--fix"]);
    expect(e.message).toBe("audit does not take --fix");
    expect(e.command).toBe("audit");
    expect(usageError(["doctor", "--config", "c", "--workdir", "w", "--json", "--since", "1h"]).message).toBe("doctor does not take --json, --since");
    expect(usageError(["--config", "c", "--workdir", "w", "--fix"]).message).toBe("starling does not take --fix");
    expect(usageError(["audit", "--workdir", "/w", "--env-file", "x"]).message).toBe("audit does not take --env-file");
  });

  it("stray arguments are refused", () => {
    expect(usageError(["doctor", "now", "--config", "c", "--workdir", "w"]).message).toBe('doctor takes no argument "now"');
    expect(usageError(["service", "status", "twice", "--config", "c", "--workdir", "w"]).message).toBe('service takes no argument "twice"');
  });

  it("what each command takes is still accepted", () => {
    expect(parseCli(["audit", "--workdir", "/w", "--conversation", "tg-1", "--since", "2h", "--json"])).toEqual({ kind: "audit", workdir: "/w", conversation: "tg-1", since: "2h", json: true });
    expect(parseCli(["doctor", "-c", "c.json", "-w", "w", "--env-file", "e", "--fix"])).toEqual({ kind: "doctor", config: "c.json", workdir: "w", envFile: "e", fix: true });
    expect(parseCli(["--", "--config", "c.json", "--workdir", "w"])).toMatchObject({ kind: "run", config: "c.json", workdir: "w" });
  });

  it("an unknown option or command names it", () => {
    expect(usageError(["doctor", "--bogus"]).message).toMatch(/Unknown option '--bogus'/);
    expect(usageError(["doctor", "--bogus"]).command).toBe("doctor");
    expect(usageError(["frob"]).message).toBe('unknown command "frob" (see starling --help)');
  });
});
