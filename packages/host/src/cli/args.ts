import { parseArgs } from "node:util";
import { defaultEnvFilePath } from "@starling/config";
import { COMMANDS, commandNamed, unusedOptions, type CommandName } from "./commands.js";

export type CliCommand =
  | { kind: "run"; config: string; workdir: string; envFile: string }
  | { kind: "init"; config: string; workdir: string; envFile: string; nonInteractive: boolean; values: Record<string, string | undefined> }
  | { kind: "doctor"; config: string; workdir: string; envFile: string; fix: boolean }
  | { kind: "service"; action: "install" | "uninstall" | "status"; config: string; workdir: string; envFile: string }
  | { kind: "audit"; workdir: string; conversation?: string; since?: string; json: boolean }
  | { kind: "help"; command?: CommandName }
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
  Every command but audit takes --env-file FILE (default: starling.env next to the config).
  Exit codes: 0 ok, 1 problems, 2 bad usage, 78 bad config.
  starling --list-crash-points                  names accepted by STARLING_CRASH_AT
  starling --help | --version
  starling COMMAND --help                       one command's options in full`;

/** Bad usage (exit 2): the message, and the command whose help to show with it (none: the overview). */
export class CliUsageError extends Error {
  constructor(
    message: string,
    readonly command?: CommandName,
  ) {
    super(message);
  }
}

/** What `starling [COMMAND] --help` prints. */
export function helpText(command?: CommandName): string {
  return command ? COMMANDS[command].help : USAGE;
}

/** Parses argv (without node and script). Throws a CliUsageError with a message for the user on bad input. */
export function parseCli(argv: string[]): CliCommand {
  let parsed;
  try {
    parsed = parseOptions(argv);
  } catch (err) {
    // parseArgs' own message ("Unknown option '--x'…"), with the help of the command it was for.
    const sub = commandNamed(argv.find((a) => !a.startsWith("-")));
    throw new CliUsageError((err as Error).message, sub ?? undefined);
  }
  const { values, positionals } = parsed;
  const [sub, action, ...extra] = positionals;
  const command = commandNamed(sub);
  if (values.token !== undefined || values["api-key"] !== undefined) {
    throw new CliUsageError(
      "secrets are not accepted on the command line (they end up in shell history and `ps`); " +
        "export them instead, e.g. TELEGRAM_BOT_TOKEN=… OPENROUTER_API_KEY=… starling init --non-interactive",
      command ?? undefined,
    );
  }
  if (!command) throw new CliUsageError(`unknown command "${sub}" (see starling --help)`);
  if (values.help) return { kind: "help", ...(sub ? { command } : {}) };
  if (values.version) return { kind: "version" };
  if (values["list-crash-points"]) return { kind: "list-crash-points" };
  const name = sub ?? "starling";
  const unused = unusedOptions(
    command,
    Object.keys(values).filter((k) => values[k as keyof typeof values] !== undefined),
  );
  if (unused.length) throw new CliUsageError(`${name} does not take ${unused.join(", ")}`, command);
  const stray = command === "service" ? extra : [action, ...extra].filter((p) => p !== undefined);
  if (stray.length) throw new CliUsageError(`${name} takes no argument ${JSON.stringify(stray[0])}`, command);
  return commandFrom(command, values, action);
}

function parseOptions(argv: string[]) {
  return parseArgs({
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
}

type Values = ReturnType<typeof parseOptions>["values"];

function commandFrom(command: CommandName, values: Values, action: string | undefined): CliCommand {
  const config = values.config;
  const workdir = values.workdir;
  const envFileFor = (configPath: string) => values["env-file"] ?? defaultEnvFilePath(configPath);
  const need = (what: string) => {
    if (!config || !workdir) throw new CliUsageError(`${what} needs --config FILE and --workdir DIR`, command);
    return { config, workdir, envFile: envFileFor(config) };
  };
  switch (command) {
    case "run":
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
        throw new CliUsageError(`service needs install, uninstall or status (got ${action ?? "nothing"})`, "service");
      }
      return { kind: "service", action, ...need(`service ${action}`) };
    case "audit":
      if (!workdir) throw new CliUsageError("audit needs --workdir DIR (the host's workdir)", "audit");
      return { kind: "audit", workdir, conversation: values.conversation, since: values.since, json: !!values.json };
  }
}
