import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { answerLimitS, silentLimitS, sshArgs } from "../../src/tools/remote/ssh.js";

// Scope: the options Starling puts on ssh's command line win over the alias's ssh_config, as ssh itself
// resolves them (`ssh -G` prints the effective settings without connecting).
const hasSsh = spawnSync("ssh", ["-V"]).status === 0;
const dir = mkdtempSync(join(tmpdir(), "starling-ssh-args-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe.skipIf(!hasSsh)("ssh arguments (skipped: no ssh client installed)", () => {
  it("turn agent, X11 and port forwarding off even when the alias's ssh_config turns them on", () => {
    const config = join(dir, "ssh_config");
    writeFileSync(config, "Host box\n  HostName 192.0.2.1\n  ForwardAgent yes\n  ForwardX11 yes\n  LocalForward 8080 localhost:80\n  RemoteForward 9090 localhost:22\n");
    const args = sshArgs("box", "true", { STARLING_SSH_CONFIG: config });
    const options = args.slice(0, args.indexOf("--"));
    const effective = spawnSync("ssh", [...options, "-G", "box"], { encoding: "utf8" });
    expect(effective.status, effective.stderr).toBe(0);
    const lines = effective.stdout.split("\n");
    expect(lines).toContain("forwardagent no");
    expect(lines).toContain("forwardx11 no");
    expect(lines).toContain("clearallforwardings yes");
    // Without Starling's options the same alias would forward (the check above is not vacuous).
    const plain = spawnSync("ssh", ["-F", config, "-G", "box"], { encoding: "utf8" }).stdout.split("\n");
    expect(plain).toContain("forwardagent yes");
  });

  it("give a silent connection up after 45 s whatever the alias says; the test-only keepalive override is checked", () => {
    const config = join(dir, "ssh_config_alive");
    writeFileSync(config, "Host box\n  HostName 192.0.2.1\n  ServerAliveInterval 300\n  ServerAliveCountMax 10\n");
    const effective = (env: NodeJS.ProcessEnv): string[] => {
      const args = sshArgs("box", "true", { STARLING_SSH_CONFIG: config, ...env });
      return spawnSync("ssh", [...args.slice(0, args.indexOf("--")), "-G", "box"], { encoding: "utf8" }).stdout.split("\n");
    };
    expect(effective({})).toEqual(expect.arrayContaining(["serveraliveinterval 15", "serveralivecountmax 2"]));
    expect(silentLimitS({})).toBe(45);
    expect(effective({ STARLING_TEST_SSH_ALIVE_SECONDS: "1" })).toContain("serveraliveinterval 1");
    expect(silentLimitS({ STARLING_TEST_SSH_ALIVE_SECONDS: "1" })).toBe(3);
    // The worker's own bound on an operation it hears nothing from (a stuck ControlMaster): one interval later.
    expect(answerLimitS({})).toBe(60);
    expect(answerLimitS({ STARLING_TEST_SSH_ALIVE_SECONDS: "1" })).toBe(4);
    expect(() => sshArgs("box", "true", { STARLING_TEST_SSH_ALIVE_SECONDS: "0.5" })).toThrow(
      'STARLING_TEST_SSH_ALIVE_SECONDS must be a whole number of seconds ≥ 1 (it is "0.5"); unset it for the default 15.',
    );
  });
});
