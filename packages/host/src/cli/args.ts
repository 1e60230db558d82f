import { parseArgs } from "node:util";
import { defaultEnvFilePath } from "@starling/config";

export type CliCommand =
  | { kind: "run"; config: string; workdir: string; envFile: string }
  | { kind: "init"; config: string; workdir: string; envFile: string; nonInteractive: boolean; values: Record<string, string | undefined> }
  | { kind: "doctor"; config: string; workdir: string; envFile: string; fix: boolean }
  | { kind: "service"; action: "install" | "uninstall" | "status"; config: string; workdir: string; envFile: string }
  | { kind: "audit"; workdir: string; conversation?: string; since?: string; json: boolean }
  | { kind: "help" }
  | { kind: "version" }
  | { kind: "list-crash-points" };

export const USAGE = `starling — self-hosted agent server

Usage:
  starling --config FILE --workdir DIR          run the host (Telegram channels, sessions)
  starling init [--config FILE] [--workdir DIR] ask for the bot token and model API key, check both, write
                                                the config and the env file (secrets, mode 600)
       --non-interactive  no prompts; secrets come only from the environment ($TELEGRAM_BOT_TOKEN, the key)
       [--token-env NAME] [--model-url URL] [--model-name NAME] [--api-key-env NAME]
       [--telegram-api URL] [--admin-id ID]
  starling doctor --config FILE --workdir DIR [--fix]
                                                check config, env file, bot token (getMe), every model key,
                                                sandbox, workdir, disk, service; --fix applies safe fixes
  starling service install|uninstall|status --config FILE --workdir DIR
                                                manage the systemd user service (starling.service)
  starling audit --workdir DIR [--conversation ID] [--since TIME|30m|2h|7d] [--json]
                                                every turn and tool call, one line each (or JSON lines)
  Every command takes --env-file FILE (default: starling.env next to the config).
  Exit codes: 0 ok, 1 problems, 2 bad usage, 78 bad config.
  starling --list-crash-points                  names accepted by STARLING_CRASH_AT
  starling --help | --version`;

/** Parses argv (without node and script). Throws an Error with a message for the user on bad input. */
export function parseCli(argv: string[]): CliCommand {
  const { values, positionals } = parseArgs({
    // A leading "--" (the systemd unit's: it keeps node from reading --env-file itself) ends nothing here.
    args: argv[0] === "--" ? argv.slice(1) : argv,
    allowPositionals: true,
    strict: true,
    options: {
      config: { type: "string", short: "c" },
      workdir: { type: "string", short: "w" },
      help: { type: "boolean", short: "h" },
      version: { type: "boolean", short: "v" },
      "list-crash-points": { type: "boolean" },
      "env-file": { type: "string" },
      "non-interactive": { type: "boolean" },
      fix: { type: "boolean" },
      "token-env": { type: "string" },
      token: { type: "string" },
      "api-key": { type: "string" },
      "telegram-api": { type: "string" },
      "admin-id": { type: "string" },
      "model-url": { type: "string" },
      "model-name": { type: "string" },
      "api-key-env": { type: "string" },
      yes: { type: "boolean", short: "y" },
      conversation: { type: "string" },
      since: { type: "string" },
      json: { type: "boolean" },
    },
  });
  if (values.help) return { kind: "help" };
  if (values.version) return { kind: "version" };
  if (values["list-crash-points"]) return { kind: "list-crash-points" };
  const [sub, action] = positionals;
  const config = values.config;
  const workdir = values.workdir;
  if (values.token !== undefined || values["api-key"] !== undefined) {
    throw new Error(
      "secrets are not accepted on the command line (they end up in shell history and `ps`); " +
        "export them instead, e.g. TELEGRAM_BOT_TOKEN=… OPENROUTER_API_KEY=… starling init --non-interactive",
    );
  }
  const envFileFor = (configPath: string) => values["env-file"] ?? defaultEnvFilePath(configPath);
  const need = (what: string) => {
    if (!config || !workdir) throw new Error(`${what} needs --config FILE and --workdir DIR (see starling --help)`);
    return { config, workdir, envFile: envFileFor(config) };
  };
  switch (sub) {
    case undefined:
      return { kind: "run", ...need("starling") };
    case "init":
      return {
        kind: "init",
        config: config ?? "starling.json",
        workdir: workdir ?? "starling-workdir",
        envFile: envFileFor(config ?? "starling.json"),
        nonInteractive: !!values["non-interactive"] || !!values.yes || !process.stdin.isTTY,
        values: {
          tokenEnv: values["token-env"],
          modelUrl: values["model-url"],
          modelName: values["model-name"],
          apiKeyEnv: values["api-key-env"],
          telegramApi: values["telegram-api"],
          adminId: values["admin-id"],
        },
      };
    case "doctor":
      return { kind: "doctor", ...need("doctor"), fix: !!values.fix };
    case "service":
      if (action !== "install" && action !== "uninstall" && action !== "status") {
        throw new Error(`service needs install, uninstall or status (got ${action ?? "nothing"})`);
      }
      return { kind: "service", action, ...need(`service ${action}`) };
    case "audit":
      if (!workdir) throw new Error("audit needs --workdir DIR (the host's workdir; see starling --help)");
      return { kind: "audit", workdir, conversation: values.conversation, since: values.since, json: !!values.json };
    default:
      throw new Error(`unknown command "${sub}" (see starling --help)`);
  }
}
