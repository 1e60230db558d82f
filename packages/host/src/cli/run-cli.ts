import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { TOOL_CRASH_POINTS, WORKER_CRASH_POINTS } from "@starling/protocol";
import { loadConfig, mergedEnv, readEnvFile, type Env, type StarlingConfig } from "@starling/config";
import { HOST_CRASH_POINTS } from "../state/host-store.js";
import { SKILL_CRASH_POINTS } from "../skills/skill-store.js";
import { CliUsageError, helpText, parseCli } from "./args.js";
import { bundledVersion } from "../worker-path.js";


function version(): string {
  const packaged = bundledVersion();
  if (packaged) return packaged;
  const file = fileURLToPath(new URL("../../../../VERSION", import.meta.url));
  try {
    return readFileSync(file, "utf8").split("\n")[0]!.trim();
  } catch {
    return "unknown";
  }
}

/** sysexits EX_CONFIG: the unit's RestartPreventExitStatus=78 stops systemd from restarting a bad config forever. */
export const EXIT_CONFIG = 78;

/** Loads the config or prints every problem (`path: what is wrong`) and returns null. */
export function loadOrReport(path: string, env: Env = process.env): StarlingConfig | null {
  const result = loadConfig(path, { env });
  // Warnings first, also when there are errors: a misspelt key is often the cause of an error.
  for (const warning of result.warnings) process.stderr.write(`starling: warning: ${warning}\n`);
  if (!result.ok) {
    process.stderr.write(`starling: the config ${path} has problems:\n${result.errors.map((e) => `  - ${e}`).join("\n")}\n`);
    return null;
  }
  if (result.upgradedFrom) {
    process.stderr.write(`starling: upgraded the config from version ${result.upgradedFrom} (original kept as ${result.backupPath ?? `${path}.bak`})\n`);
  }
  return result.config;
}

/** Runs a CLI command. Resolves with an exit code, or null when the process keeps running (the host). */
export async function runCli(argv: string[]): Promise<number | null> {
  let command;
  try {
    command = parseCli(argv);
  } catch (err) {
    const usage = err instanceof CliUsageError ? helpText(err.command) : helpText();
    process.stderr.write(`starling: ${(err as Error).message}\n\n${usage}\n`);
    return 2;
  }
  // Each command loads only its own modules: a host does not load the setup wizard, `--version` loads neither.
  switch (command.kind) {
    case "help":
      process.stdout.write(`${helpText(command.command)}\n`);
      return 0;
    case "version":
      process.stdout.write(`starling ${version()}\n`);
      return 0;
    case "list-crash-points":
      process.stdout.write(`host:   ${[...HOST_CRASH_POINTS, ...SKILL_CRASH_POINTS].join(" ")}\nworker: ${[...WORKER_CRASH_POINTS, ...TOOL_CRASH_POINTS].join(" ")}\n`);
      return 0;
    case "init":
      return (await import("./init.js")).runInit(command);
    case "doctor":
      return (await import("./doctor.js")).runDoctor(command);
    case "audit":
      return (await import("./audit.js")).runAudit(command, (line) => process.stdout.write(`${line}\n`), (line) => process.stderr.write(`${line}\n`));
    case "service":
      return (await import("./service.js")).runService(command.action, command.config, command.workdir, command.envFile);
    case "run": {
      // Secrets from the env file go into this private map, never into process.env.
      const envFile = readEnvFile(command.envFile);
      if (!envFile.ok) {
        process.stderr.write(`starling: ${envFile.error}\n`);
        return EXIT_CONFIG;
      }
      const env = mergedEnv(envFile.values, process.env);
      const config = loadOrReport(command.config, env);
      if (!config) return EXIT_CONFIG;
      const { startHost } = await import("../host.js");
      const host = await startHost(config, command.workdir, env, [command.config, command.envFile]);
      let signals = 0;
      const onSignal = (signal: string) => {
        signals++;
        if (signals > 1) {
          host.log.warn({ signal }, "second signal: exiting now");
          process.exit(1);
        }
        // A bounded shutdown: whatever is not done in 15 s is recovered on the next start.
        const guard = setTimeout(() => process.exit(0), 15_000);
        void host.stop().finally(() => {
          clearTimeout(guard);
          process.exit(0);
        });
      };
      process.on("SIGTERM", () => onSignal("SIGTERM"));
      process.on("SIGINT", () => onSignal("SIGINT"));
      return null;
    }
  }
}
