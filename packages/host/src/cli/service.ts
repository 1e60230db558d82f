import { spawnSync } from "node:child_process";
import { existsSync, mkdirSync, rmSync, writeFileSync } from "node:fs";
import { homedir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { renderSystemdUnit } from "@starling/config";
import { hostMainPath } from "../worker-path.js";

const UNIT = "starling.service";

function unitPath(): string {
  return join(process.env.XDG_CONFIG_HOME ?? join(homedir(), ".config"), "systemd", "user", UNIT);
}

function systemctl(args: string[]): { ok: boolean; output: string } | null {
  const run = spawnSync("systemctl", ["--user", ...args], { encoding: "utf8" });
  if (run.error) return null;
  return { ok: run.status === 0, output: `${run.stdout}${run.stderr}`.trim() };
}

/** `service install|uninstall|status`: the systemd user unit with absolute paths. */
export async function runService(action: "install" | "uninstall" | "status", config: string, workdir: string): Promise<number> {
  const path = unitPath();
  if (action === "install") {
    const configPath = resolve(config);
    if (!existsSync(configPath)) {
      process.stderr.write(`starling: ${configPath} does not exist; run starling init first\n`);
      return 1;
    }
    const environmentFile = join(dirname(configPath), "starling.env");
    const unit = renderSystemdUnit({
      nodePath: process.execPath,
      mainPath: hostMainPath(),
      configPath,
      workdir: resolve(workdir),
      environmentFile,
    });
    mkdirSync(dirname(path), { recursive: true });
    writeFileSync(path, unit);
    process.stdout.write(`wrote ${path}\nsecrets (TELEGRAM_BOT_TOKEN=…, API keys) go in ${environmentFile}\n`);
    const steps = [["daemon-reload"], ["enable", "--now", UNIT]];
    for (const step of steps) {
      const result = systemctl(step);
      if (!result) {
        process.stdout.write(`systemctl is not available here; run:\n  systemctl --user daemon-reload\n  systemctl --user enable --now ${UNIT}\n  loginctl enable-linger $USER   # keep it running after logout\n`);
        return 0;
      }
      if (!result.ok) {
        process.stderr.write(`systemctl --user ${step.join(" ")} failed: ${result.output}\n`);
        return 1;
      }
    }
    process.stdout.write(`enabled and started ${UNIT}; logs: journalctl --user -u starling -f and ${workdir}/logs/host.log\n`);
    return 0;
  }
  if (action === "uninstall") {
    const stop = systemctl(["disable", "--now", UNIT]);
    if (!stop) process.stdout.write(`systemctl is not available; run: systemctl --user disable --now ${UNIT}\n`);
    if (existsSync(path)) rmSync(path);
    systemctl(["daemon-reload"]);
    process.stdout.write(`removed ${path}\n`);
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
