import { spawnSync } from "node:child_process";
import { existsSync, mkdirSync, rmSync, writeFileSync } from "node:fs";
import { homedir, userInfo } from "node:os";
import { dirname, isAbsolute, join, resolve } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { renderSystemdUnit } from "@starling/config";
import { HOST_NODE_FLAGS, hostMainPath } from "../worker-path.js";

const UNIT = "starling.service";
const JOURNAL = "journalctl --user -u starling -f";

function unitPath(): string {
  return join(process.env.XDG_CONFIG_HOME ?? join(homedir(), ".config"), "systemd", "user", UNIT);
}

function run(command: string, args: string[]): { ok: boolean; output: string } | null {
  const result = spawnSync(command, args, { encoding: "utf8" });
  if (result.error) return null;
  return { ok: result.status === 0, output: `${result.stdout}${result.stderr}`.trim() };
}

const systemctl = (args: string[]) => run("systemctl", ["--user", ...args]);

export type ServiceState = { kind: "no-systemctl" } | { kind: "not-installed" } | { kind: "installed"; unitPath: string; active: string };

/** What `systemctl --user is-active starling` says, for doctor. */
export function serviceState(): ServiceState {
  const path = unitPath();
  const active = systemctl(["is-active", UNIT]);
  if (!active) return existsSync(path) ? { kind: "installed", unitPath: path, active: "unknown (no systemctl)" } : { kind: "no-systemctl" };
  if (!existsSync(path)) return { kind: "not-installed" };
  return { kind: "installed", unitPath: path, active: active.output.split("\n")[0] || "unknown" };
}

/**
 * Why `systemctl --user` cannot reach this user's service manager (no user session: su, sudo, a container,
 * a cron job), or null when it can or systemctl is missing. Asked before anything is written.
 */
function noUserManager(config: string, workdir: string): string | null {
  const probe = systemctl(["show-environment"]);
  if (!probe || probe.ok) return null;
  const user = userInfo().username;
  return (
    `systemctl --user cannot reach your systemd user manager (${probe.output.split("\n")[0] || "no answer"}): this shell has no systemd user session ` +
    `(su, sudo and containers do not start one).\n` +
    `  log in as ${user} directly (ssh or a console) and run this again; for a service that outlives your logins, first: sudo loginctl enable-linger ${user}\n` +
    `  or run it in the foreground (or under your own supervisor): starling --config ${resolve(config)} --workdir ${resolve(workdir)}\n`
  );
}

/** `is-active` right after a start says "activating"; a config error shows up as "failed" within a second or two. */
async function settledState(): Promise<string> {
  let state = "unknown";
  for (let i = 0; i < 6; i++) {
    await sleep(500);
    state = systemctl(["is-active", UNIT])?.output.split("\n")[0] ?? "unknown";
    if (state !== "activating" && state !== "reloading") return state;
  }
  return state;
}

function lingerHint(): string {
  const user = userInfo().username;
  const linger = run("loginctl", ["show-user", user, "--property=Linger", "--value"]);
  if (linger?.ok && linger.output === "yes") return "";
  return `to keep it running after you log out: loginctl enable-linger ${user}\n`;
}

/** `service install|uninstall|status`: the systemd user unit with absolute paths. */
export async function runService(action: "install" | "uninstall" | "status", config: string, workdir: string, envFile: string): Promise<number> {
  const path = unitPath();
  if (action === "install") {
    const configPath = resolve(config);
    if (!existsSync(configPath)) {
      process.stderr.write(`starling: ${configPath} does not exist; run: starling init --config ${configPath} --workdir ${resolve(workdir)}\n`);
      return 1;
    }
    const unreachable = noUserManager(config, workdir);
    if (unreachable) {
      process.stderr.write(`${unreachable}nothing was written\n`);
      return 1;
    }
    const environmentFile = resolve(envFile);
    mkdirSync(resolve(workdir), { recursive: true });
    // A private CA the installing shell trusts (a company proxy, a self-hosted model): the service needs it too.
    const extraCa = process.env.NODE_EXTRA_CA_CERTS;
    const environment: Record<string, string> = extraCa && isAbsolute(extraCa) ? { NODE_EXTRA_CA_CERTS: extraCa } : {};
    const unit = renderSystemdUnit({ nodePath: process.execPath, nodeFlags: HOST_NODE_FLAGS, mainPath: hostMainPath(), configPath, workdir: resolve(workdir), environmentFile, environment });
    mkdirSync(dirname(path), { recursive: true });
    writeFileSync(path, unit);
    process.stdout.write(`wrote ${path}\nsecrets (bot token, API keys) are read from ${environmentFile}\n`);
    if (environment.NODE_EXTRA_CA_CERTS) process.stdout.write(`the service trusts the CAs in NODE_EXTRA_CA_CERTS=${environment.NODE_EXTRA_CA_CERTS}, as this shell does\n`);
    for (const step of [["daemon-reload"], ["enable", "--now", UNIT]]) {
      const result = systemctl(step);
      if (!result) {
        process.stdout.write(`systemctl is not available here; on a systemd machine run:\n  systemctl --user daemon-reload\n  systemctl --user enable --now ${UNIT}\n${lingerHint()}`);
        return 0;
      }
      if (!result.ok) {
        process.stderr.write(`systemctl --user ${step.join(" ")} failed: ${result.output}\n`);
        return 1;
      }
    }
    const state = await settledState();
    if (state !== "active") {
      process.stderr.write(`starling.service is ${state} after starting; see why: journalctl --user -u starling -n 50 --no-pager\n`);
      return 1;
    }
    process.stdout.write(`starling.service is active\nlogs: ${JOURNAL}   (JSON lines also in ${resolve(workdir)}/logs/host.log)\n${lingerHint()}`);
    return 0;
  }
  const unreachable = noUserManager(config, workdir);
  if (unreachable) {
    process.stderr.write(`${unreachable}${action === "uninstall" ? `nothing was removed (${existsSync(path) ? path : "no unit file"})\n` : `unit file: ${existsSync(path) ? path : "not installed"}\n`}`);
    return action === "uninstall" ? 1 : 3;
  }
  if (action === "uninstall") {
    const existed = existsSync(path);
    const stop = systemctl(["disable", "--now", UNIT]);
    if (!stop) process.stdout.write(`systemctl is not available; run: systemctl --user disable --now ${UNIT}\n`);
    if (existsSync(path)) rmSync(path);
    systemctl(["daemon-reload"]);
    process.stdout.write(existed ? `removed ${path}\n` : `not installed (no ${path})\n`);
    return 0;
  }
  const status = systemctl(["status", UNIT, "--no-pager"]);
  if (!status) {
    process.stdout.write(`systemctl is not available here. Unit file: ${existsSync(path) ? path : "not installed"}\n`);
    return existsSync(path) ? 0 : 3;
  }
  process.stdout.write(`${status.output}\n`);
  return status.ok ? 0 : 3;
}
