// The `starling` CLI outside of a running host: config errors, help/version, crash points, init,
// doctor, service install.
import { spawnSync } from "node:child_process";
import { chmodSync, existsSync, linkSync, mkdirSync, readFileSync, renameSync, statSync, symlinkSync, writeFileSync } from "node:fs";
import { isAbsolute, join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { loadConfig } from "@starling/config";
import { probeBubblewrap } from "@starling/protocol";
import { HOST_MAIN, runCliOnce, tempDir, writeHostConfig } from "./host-harness.js";
import { startFakeTelegram, type FakeTelegram } from "../fakes/telegram-api.js";
import { startFakeOpenAI, type FakeOpenAI } from "../fakes/openai-server.js";
import { pidNamespacesWork } from "../fixtures/host-pid.js";

const bwrapWorks = (await probeBubblewrap("bwrap")).ok;
const REPO_VERSION = readFileSync(new URL("../../VERSION", import.meta.url), "utf8").split("\n")[0]!.trim();

let work: { dir: string; cleanup: () => void };
let telegram: FakeTelegram;
let model: FakeOpenAI;

beforeAll(async () => {
  work = tempDir("starling-cli-");
  telegram = await startFakeTelegram();
  model = await startFakeOpenAI({ replies: [] });
});

afterAll(async () => {
  await telegram?.close();
  await model?.close();
  work?.cleanup();
});

/** The env a test controls: none of the secrets the configs name, unless given. */
function env(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  return { FAKE_TELEGRAM_TOKEN: undefined, FAKE_MODEL_KEY: undefined, TELEGRAM_BOT_TOKEN: undefined, ...extra };
}

describe("starling CLI", () => {
  it("refuses an invalid config with exit 78 (EX_CONFIG), naming every bad field", async () => {
    const dir = join(work.dir, "invalid");
    mkdirSync(dir);
    const path = join(dir, "bad.json");
    writeFileSync(
      path,
      JSON.stringify({
        version: "0.4",
        models: { main: { provider_type: "open_router_completion", model_name: "m", url: "not a url", api_key_env: "K", capabilities: ["chat"] } },
        sandbox: { mode: "jail" },
        channels: [{ kind: "telegram", id: "tg", bot_token_env: "T", poll_timeout_seconds: -5 }],
        workers: { max_concurrent_turns: 0 },
        log: { level: "loud" },
      }),
    );
    const run = await runCliOnce(["--config", path, "--workdir", join(dir, "wd")], env({ K: "k", T: "t" }));
    expect(run.code).toBe(78);
    for (const field of ["models.main.url", "sandbox.mode", "channels.0.poll_timeout_seconds", "workers.max_concurrent_turns", "log.level"]) {
      expect(run.output).toContain(`${field}:`);
    }
    expect(existsSync(join(dir, "wd", "state"))).toBe(false); // nothing started
  });

  it("exits 78 naming the missing bot token variable", async () => {
    const dir = join(work.dir, "notoken");
    mkdirSync(dir);
    const config = writeHostConfig(dir, { apiRoot: telegram.apiRoot, modelUrl: model.url });
    const run = await runCliOnce(["--config", config, "--workdir", join(dir, "wd")], env({ FAKE_MODEL_KEY: "k" }));
    expect(run.code).toBe(78);
    expect(run.output).toContain("FAKE_TELEGRAM_TOKEN");
    expect(run.output).toMatch(/not set/);
  });

  it("--help and --version exit 0", async () => {
    const help = await runCliOnce(["--help"]);
    expect(help.code).toBe(0);
    expect(help.output).toMatch(/starling --config FILE --workdir DIR/);
    for (const sub of ["init", "doctor", "service install", "--list-crash-points"]) expect(help.output).toContain(sub);
    const version = await runCliOnce(["--version"]);
    expect(version.code).toBe(0);
    expect(version.output.trim()).toBe(`starling ${REPO_VERSION}`);
  });

  it("rejects an unknown option with a usage message", async () => {
    const run = await runCliOnce(["--frobnicate"]);
    expect(run.code).not.toBe(0);
    expect(run.output).toMatch(/Usage:/);
  });

  it("--list-crash-points lists the host's and the worker's points", async () => {
    const run = await runCliOnce(["--list-crash-points"]);
    expect(run.code).toBe(0);
    for (const name of ["admit", "handoff", "event_processed", "outbox_attempt", "outbox_sent", "tool_intent", "tool_result", "turn_end"]) {
      expect(run.output).toMatch(new RegExp(`\\b${name}\\b`));
    }
  });

  it("init --non-interactive writes a config and env file that doctor accepts with no secrets in the environment", async () => {
    const dir = join(work.dir, "init");
    const config = join(dir, "starling.json");
    const workdir = join(dir, "wd");
    const run = await runCliOnce(
      [
        "init", "--non-interactive", "--config", config, "--workdir", workdir, "--telegram-api", telegram.apiRoot,
        "--token-env", "MY_BOT_TOKEN", "--model-url", model.url, "--model-name", "fake-model", "--api-key-env", "MY_MODEL_KEY",
      ],
      env({ MY_BOT_TOKEN: telegram.token, MY_MODEL_KEY: "model-key" }),
    );
    expect(run.output).not.toContain(telegram.token);
    expect(run.output).not.toContain("model-key");
    expect(run.code, run.output).toBe(0);
    expect(existsSync(workdir)).toBe(true);
    const written = JSON.parse(readFileSync(config, "utf8")) as {
      $schema: string;
      models: { main: { url: string; model_name: string; api_key_env: string } };
      channels: { bot_token_env: string; api_base_url: string }[];
    };
    expect(written.models.main).toMatchObject({ url: model.url, model_name: "fake-model", api_key_env: "MY_MODEL_KEY" });
    expect(written.channels[0]!.bot_token_env).toBe("MY_BOT_TOKEN");
    expect(JSON.stringify(written)).not.toContain(telegram.token); // the secret went to starling.env
    const envFile = join(dir, "starling.env");
    expect(readFileSync(envFile, "utf8")).toContain(`MY_BOT_TOKEN=${telegram.token}`);
    expect(readFileSync(envFile, "utf8")).toContain("MY_MODEL_KEY=model-key");
    expect(existsSync(written.$schema), written.$schema).toBe(true);
    expect(statSync(envFile).mode & 0o777).toBe(0o600);

    const secrets = { MY_BOT_TOKEN: telegram.token, MY_MODEL_KEY: "model-key" };
    const loaded = loadConfig(config, { env: secrets, writeUpgrade: false });
    expect(loaded.ok, loaded.ok ? "" : loaded.errors.join("\n")).toBe(true);

    // doctor reads the env file itself: nothing in the environment.
    const doctor = await runCliOnce(["doctor", "--config", config, "--workdir", workdir], env({ XDG_CONFIG_HOME: join(dir, "xdg") }));
    expect(doctor.output).toMatch(/^ok\s+config:/m);
    expect(doctor.output).toMatch(new RegExp(`^ok\\s+telegram telegram-main: .*works \\(@${telegram.botUser.username}\\)`, "m"));
    expect(doctor.output).toMatch(/^ok\s+model main:/m);
    // subprocess mode (init's default) says whether shell commands get their PID namespace here.
    expect(doctor.output).toMatch(pidNamespacesWork() ? /^warn\s+sandbox: .*shell commands run in a PID namespace/m : /^warn\s+sandbox: .*WITHOUT a PID namespace/m);
    expect(doctor.code, doctor.output).toBe(0);
    // init refuses to overwrite.
    const again = await runCliOnce(["init", "--yes", "--config", config, "--workdir", workdir], env());
    expect(again.code).toBe(1);
    expect(again.output).toMatch(/already exists/);
    // A secret on the command line is refused (shell history, ps).
    const argvSecret = await runCliOnce(["init", "--non-interactive", "--token", "123:abc"], env());
    expect(argvSecret.code).toBe(2);
    expect(argvSecret.output).toMatch(/not accepted on the command line/);
  });

  it("doctor counts what bubblewrap hides: well-known secrets found here and sandbox.hidden_paths, naming those not there yet", async () => {
    const dir = join(work.dir, "doctor-hidden");
    mkdirSync(dir);
    const config = writeHostConfig(dir, { apiRoot: telegram.apiRoot, modelUrl: model.url });
    const secret = join(dir, "secret.env");
    writeFileSync(secret, "X=1\n");
    const missing = join(dir, "later.env");
    const raw = JSON.parse(readFileSync(config, "utf8"));
    raw.sandbox = { mode: "bubblewrap", bubblewrap_binary: "bwrap", hidden_paths: [secret, missing] };
    writeFileSync(config, JSON.stringify(raw));
    const secrets = env({ FAKE_TELEGRAM_TOKEN: telegram.token, FAKE_MODEL_KEY: "model-key" });
    const known = ["/etc/shadow", "/etc/gshadow"].filter((p) => existsSync(p)).length; // at least these on any Linux
    const doctor = await runCliOnce(["doctor", "--config", config, "--workdir", join(dir, "wd")], secrets);
    if (bwrapWorks) {
      const line = /^ok\s+sandbox: .*hidden from tools: (\d+) well-known secret files and folders found here and 1 of 2 sandbox\.hidden_paths \(not there yet, hidden once they appear: ([^)]*)\)/m.exec(doctor.output);
      expect(line, doctor.output).not.toBeNull();
      expect(Number(line![1])).toBeGreaterThanOrEqual(known);
      expect(line![2]).toBe(missing);
    }
    raw.sandbox.mode = "subprocess";
    writeFileSync(config, JSON.stringify(raw));
    const sub = await runCliOnce(["doctor", "--config", config, "--workdir", join(dir, "wd")], secrets);
    expect(sub.output).toMatch(/^warn\s+sandbox: .*the file tools refuse sandbox\.hidden_paths, but shell commands can read them/m);
    expect(sub.output).not.toMatch(/hidden files:/);
  });

  // Bubblewrap masks by path: another hard link to a masked file, under a folder tools can read, shows it.
  it("doctor warns about a hidden file that has other hard links (naming it and how many) and one listed through a link in a workspace", async () => {
    const dir = join(work.dir, "doctor-links");
    mkdirSync(join(dir, "keys"), { recursive: true });
    const config = writeHostConfig(dir, { apiRoot: telegram.apiRoot, modelUrl: model.url });
    const secret = join(dir, "secret.env");
    writeFileSync(secret, "X=1\n");
    linkSync(secret, join(dir, "copy-in-workspace.env"));
    writeFileSync(join(dir, "keys", "id.key"), "K\n");
    linkSync(join(dir, "keys", "id.key"), join(dir, "id.key.bak"));
    linkSync(join(dir, "keys", "id.key"), join(dir, "id.key.bak2"));
    // And one listed through a symlink in a workspace, which the agent can repoint (a worker remembers only
    // where it led from its own start): doctor names the link and the real path to list instead.
    const workspace = join(dir, "wd", "conversations", "tg-000001");
    mkdirSync(join(workspace, "real"), { recursive: true });
    writeFileSync(join(workspace, "real", "secret.env"), "Y=1\n");
    symlinkSync("real", join(workspace, "link"));
    const raw = JSON.parse(readFileSync(config, "utf8"));
    raw.sandbox = { mode: "subprocess", hidden_paths: [secret, join(dir, "keys"), join(workspace, "link", "secret.env")] };
    writeFileSync(config, JSON.stringify(raw));
    const doctor = await runCliOnce(["doctor", "--config", config, "--workdir", join(dir, "wd")], env({ FAKE_TELEGRAM_TOKEN: telegram.token, FAKE_MODEL_KEY: "model-key" }));
    const line = /^warn\s+hidden files: (.*)$/m.exec(doctor.output);
    expect(line, doctor.output).not.toBeNull();
    expect(line![1]).toContain(`${secret} has 1 other link`);
    expect(line![1]).toContain(`${join(dir, "keys", "id.key")} has 2 other links`);
    expect(line![1]).toContain("a link under a folder tools can read is not masked");
    const through = /^warn\s+hidden paths through links: (.*)\n\s+(.*)$/m.exec(doctor.output);
    expect(through, doctor.output).not.toBeNull();
    expect(through![1]).toContain(`${join(workspace, "link", "secret.env")} goes through the link ${join(workspace, "link")}, which tools can rewrite`);
    expect(through![2]).toContain(`list the real path instead: ${join(workspace, "real", "secret.env")}`);
  });

  it("init into a folder it cannot write names the folder and the flag before asking anything, and writes nothing", async () => {
    const dir = join(work.dir, "init-unwritable");
    mkdirSync(dir, { recursive: true });
    const blocker = join(dir, "a-file");
    writeFileSync(blocker, "not a folder\n");
    const secrets = env({ TELEGRAM_BOT_TOKEN: telegram.token, OPENROUTER_API_KEY: "model-key" });
    const common = ["init", "--non-interactive", "--telegram-api", telegram.apiRoot, "--model-url", model.url];
    // A workdir that cannot be created: before, the config and the env file were written and init then failed with a bare ENOTDIR.
    const workdirRun = await runCliOnce([...common, "--config", join(dir, "starling.json"), "--workdir", join(blocker, "wd")], secrets);
    expect(workdirRun.code).toBe(1);
    expect(workdirRun.output).toContain(`cannot write to ${join(blocker, "wd")} (a file is in the way); give --workdir a folder you can write to`);
    expect(workdirRun.output).not.toMatch(/getMe|accepted the key/); // failed before checking the secrets
    expect(existsSync(join(dir, "starling.json"))).toBe(false);
    expect(existsSync(join(dir, "starling.env"))).toBe(false);
    // A config folder that cannot be created.
    const configRun = await runCliOnce([...common, "--config", join(blocker, "starling.json"), "--workdir", join(dir, "wd")], secrets);
    expect(configRun.code).toBe(1);
    expect(configRun.output).toContain(`cannot write to ${blocker} (a file is in the way); give --config a folder`);
    expect(configRun.output).toMatch(/nothing was written/);
  });

  it("service install writes a unit systemd accepts, starts it, checks is-active and prints the journal command", async () => {
    const dir = join(work.dir, "service");
    const xdg = join(dir, "xdg");
    const bin = join(dir, "bin");
    mkdirSync(bin, { recursive: true });
    writeHostConfig(dir, { apiRoot: telegram.apiRoot, modelUrl: model.url });
    // A stand-in systemctl: the test must never touch the real user manager. It records the calls
    // and says the unit is active.
    const calls = join(dir, "systemctl-calls");
    writeFileSync(
      join(bin, "systemctl"),
      `#!/bin/sh\necho "$@" >> "${calls}"\ncase "$*" in *is-active*) echo active;; esac\nexit 0\n`,
    );
    chmodSync(join(bin, "systemctl"), 0o755);
    const caFile = join(dir, "company-ca.pem"); // a private CA the installing shell trusts: the service gets it too
    const run = await runCliOnce(
      ["service", "install", "--config", "starling.json", "--workdir", "wd"],
      env({ XDG_CONFIG_HOME: xdg, PATH: `${bin}:${process.env.PATH ?? ""}`, NODE_EXTRA_CA_CERTS: caFile }),
      { cwd: dir },
    );
    expect(run.code, run.output).toBe(0);
    const unitPath = join(xdg, "systemd", "user", "starling.service");
    expect(readFileSync(unitPath, "utf8")).toContain(`Environment="NODE_EXTRA_CA_CERTS=${caFile}"`);
    expect(run.output).toContain(`the service trusts the CAs in NODE_EXTRA_CA_CERTS=${caFile}`);
    expect(readFileSync(calls, "utf8").split("\n")).toEqual(expect.arrayContaining(["--user daemon-reload", "--user enable --now starling.service", "--user is-active starling.service"]));
    expect(run.output).toContain("journalctl --user -u starling -f");
    expect(existsSync(join(dir, "wd"))).toBe(true); // WorkingDirectory created
    const unit = readFileSync(unitPath, "utf8");
    const execStart = /^ExecStart=(.*)$/m.exec(unit)?.[1] ?? "";
    const [node, flag, gcFlag, jitFlag, compactFlag, main, ...rest] = execStart.split(" ");
    expect(isAbsolute(node!) && existsSync(node!)).toBe(true);
    expect([flag, gcFlag, jitFlag, compactFlag]).toEqual(["--max-semi-space-size=8", "--single-threaded-gc", "--interrupt-budget=270336", "--compact-on-every-full-gc"]); // HOST_NODE_FLAGS
    expect(main).toBe(HOST_MAIN);
    expect(rest).toEqual(["--", "--config", join(dir, "starling.json"), "--workdir", join(dir, "wd"), "--env-file", join(dir, "starling.env")]);
    expect(unit).toMatch(new RegExp(`^WorkingDirectory=-${join(dir, "wd")}$`, "m"));
    expect(unit).toMatch(/^RestartPreventExitStatus=78$/m);
    expect(unit).not.toMatch(/^EnvironmentFile=/m); // secrets stay out of the service environment
    // The unit's own command with its env file gone: starling's exit 78 (systemd stops), not node's exit 9
    // ("node: …: not found", from reading --env-file itself) and a restart loop.
    const envFile = join(dir, "starling.env");
    const present = existsSync(envFile);
    if (present) renameSync(envFile, `${envFile}.away`);
    try {
      const started = spawnSync(node!, [flag!, gcFlag!, jitFlag!, main!, ...rest], { encoding: "utf8", timeout: 30_000 });
      expect(started.status, started.stderr).toBe(78);
      expect(started.stderr).toMatch(/environment variable \w+ is not set; add a line/);
    } finally {
      if (present) renameSync(`${envFile}.away`, envFile);
    }

    // System-mode verify (user mode needs a user manager): it reports unknown keys, bad values and a missing ExecStart binary.
    const analyze = spawnSync("systemd-analyze", ["verify", unitPath], { encoding: "utf8" });
    if (analyze.error || /Failed to initialize manager/.test(analyze.stderr)) {
      console.warn(`systemd-analyze verify not usable here (${analyze.error?.message ?? analyze.stderr.trim()}): the unit's syntax was not verified`);
    } else {
      expect(analyze.stderr.trim()).toBe("");
      expect(analyze.status).toBe(0);
    }
  });

  it("service install reports a unit that does not stay active", async () => {
    const dir = join(work.dir, "service-failed");
    const bin = join(dir, "bin");
    mkdirSync(bin, { recursive: true });
    writeHostConfig(dir, { apiRoot: telegram.apiRoot, modelUrl: model.url });
    writeFileSync(join(bin, "systemctl"), `#!/bin/sh\ncase "$*" in *is-active*) echo failed; exit 3;; esac\nexit 0\n`);
    chmodSync(join(bin, "systemctl"), 0o755);
    const run = await runCliOnce(
      ["service", "install", "--config", "starling.json", "--workdir", "wd"],
      env({ XDG_CONFIG_HOME: join(dir, "xdg"), PATH: `${bin}:${process.env.PATH ?? ""}` }),
      { cwd: dir },
    );
    expect(run.code).toBe(1);
    expect(run.output).toMatch(/starling\.service is failed after starting; see why: journalctl --user -u starling/);
  });

  it("service install, status and uninstall without a systemd user session say what to do and write or remove nothing", async () => {
    const dir = join(work.dir, "service-nobus");
    const xdg = join(dir, "xdg");
    const bin = join(dir, "bin");
    mkdirSync(bin, { recursive: true });
    writeHostConfig(dir, { apiRoot: telegram.apiRoot, modelUrl: model.url });
    // What systemctl --user answers under su, sudo or in a container.
    writeFileSync(join(bin, "systemctl"), `#!/bin/sh\necho "Failed to connect to bus: No medium found" >&2\nexit 1\n`);
    chmodSync(join(bin, "systemctl"), 0o755);
    const run = (action: string) =>
      runCliOnce(["service", action, "--config", "starling.json", "--workdir", "wd"], env({ XDG_CONFIG_HOME: xdg, PATH: `${bin}:${process.env.PATH ?? ""}` }), { cwd: dir });
    const unitPath = join(xdg, "systemd", "user", "starling.service");
    // Before: the unit was written, then "systemctl --user daemon-reload failed: Failed to connect to bus", nothing about what to do.
    const install = await run("install");
    expect(install.code).toBe(1);
    expect(install.output).toMatch(/cannot reach your systemd user manager \(Failed to connect to bus: No medium found\)/);
    expect(install.output).toContain("loginctl enable-linger");
    expect(install.output).toContain(`starling --config ${join(dir, "starling.json")} --workdir ${join(dir, "wd")}`);
    expect(install.output).toMatch(/nothing was written/);
    expect(existsSync(unitPath)).toBe(false);
    const status = await run("status");
    expect(status.code).toBe(3);
    expect(status.output).toMatch(/cannot reach your systemd user manager[\s\S]*unit file: not installed/);
    // A unit written earlier (from a real session) is not removed while the service cannot be stopped.
    mkdirSync(join(xdg, "systemd", "user"), { recursive: true });
    writeFileSync(unitPath, "[Service]\n");
    const uninstall = await run("uninstall");
    expect(uninstall.code).toBe(1);
    expect(uninstall.output).toContain(`nothing was removed (${unitPath})`);
    expect(existsSync(unitPath)).toBe(true);
  });
});
