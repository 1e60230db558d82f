/**
 * What each `starling` command accepts and says about itself (`starling <command> --help`). An option a
 * command does not use is refused rather than silently ignored: `starling audit --fix` would otherwise
 * look like it did something.
 */
export type CommandName = "run" | "init" | "doctor" | "service" | "audit";

interface CommandHelp {
  /** The options it takes besides --help (long names, as parseArgs knows them). */
  readonly options: readonly string[];
  readonly help: string;
}

const ENV_FILE = "  --env-file FILE       the secrets file (default: starling.env next to the config)";

export const COMMANDS: Readonly<Record<CommandName, CommandHelp>> = {
  run: {
    options: ["config", "workdir", "env-file"],
    help: `Usage: starling --config FILE --workdir DIR [--env-file FILE]

Runs the host: the configured channels (Telegram, web), the conversations and their workers, until
SIGTERM or SIGINT (a second signal exits at once). Unfinished turns are recovered on the next start.

  -c, --config FILE     the config (JSON, see example_config.json)
  -w, --workdir DIR     where state, conversations and logs live (created when missing)
${ENV_FILE}

Exit codes: 78 when the config or the env file is unusable (every problem is printed).`,
  },
  init: {
    options: ["config", "workdir", "env-file", "non-interactive", "yes", "token-env", "model-url", "model-name", "api-key-env", "telegram-api", "admin-id"],
    help: `Usage: starling init [--config FILE] [--workdir DIR] [options]

Asks for the Telegram bot token and the model API key (masked), checks both against their servers,
then writes the config and the env file (secrets only there, mode 600). Refuses to overwrite either.

  -c, --config FILE       the config to write (default: starling.json)
  -w, --workdir DIR       the workdir the config is checked against (default: starling-workdir)
${ENV_FILE}
  --non-interactive, -y   no prompts: the token and key come from the environment
                          (also the default when stdin is not a terminal)
  --token-env NAME        the variable holding the bot token (default: TELEGRAM_BOT_TOKEN)
  --model-url URL         the model endpoint (default: OpenRouter's)
  --model-name NAME       the model to ask
  --api-key-env NAME      the variable holding the model API key; "none" for a local server without one
  --telegram-api URL      another Bot API server (default: https://api.telegram.org)
  --admin-id ID           your numeric Telegram user id: allowed everywhere, approves chats

Secrets are never taken as arguments (they would end up in shell history and \`ps\`):
  TELEGRAM_BOT_TOKEN=… OPENROUTER_API_KEY=… starling init --non-interactive`,
  },
  doctor: {
    options: ["config", "workdir", "env-file", "fix"],
    help: `Usage: starling doctor --config FILE --workdir DIR [--env-file FILE] [--fix]

Checks the config, the env file, the bot token (getMe), every model's key, every MCP server (a stdio
server is started as a conversation would start it: inside bubblewrap in bubblewrap mode), the
sandbox, the workdir, free disk and the service, and prints the exact command or edit that fixes each
problem.

  -c, --config FILE     the config
  -w, --workdir DIR     the host's workdir
${ENV_FILE}
  --fix                 apply the safe fixes (upgrade an old config, keeping a backup; create the
                        workdir; tighten the env file's mode)

Exit codes: 0 all good, 1 problems found, 78 the config cannot be read.`,
  },
  service: {
    options: ["config", "workdir", "env-file"],
    help: `Usage: starling service install|uninstall|status --config FILE --workdir DIR [--env-file FILE]

Manages the systemd user service starling.service.
  install     writes the unit, enables and starts it, checks it stays active, prints the journal command
  uninstall   stops, disables and removes the unit
  status      systemd's status of the unit (exit 3 when it is not running)

  -c, --config FILE     the config the service runs with
  -w, --workdir DIR     the workdir the service runs with
${ENV_FILE}

Needs a systemd user session (\`systemctl --user\`); without one it says what to do and writes nothing.`,
  },
  audit: {
    options: ["workdir", "conversation", "since", "json"],
    help: `Usage: starling audit --workdir DIR [--conversation ID] [--since TIME] [--json]

Prints every turn and tool call from the conversations' audit logs, one line each, oldest first.

  -w, --workdir DIR       the host's workdir
  --conversation ID       only this conversation (its id, as /status shows it)
  --since TIME            an ISO time (2026-05-01T12:00:00Z, 2026-05-01) or a duration back from now
                          (90s, 30m, 2h, 7d)
  --json                  JSON lines instead of text`,
  },
};

/** The command a subcommand word names (undefined: the host itself). */
export function commandNamed(word: string | undefined): CommandName | null {
  if (word === undefined) return "run";
  return word === "init" || word === "doctor" || word === "service" || word === "audit" ? word : null;
}

/** The given options `command` does not take, as `--name` (--help goes with every command). */
export function unusedOptions(command: CommandName, given: readonly string[]): string[] {
  const takes = new Set(COMMANDS[command].options);
  return given.filter((o) => o !== "help" && !takes.has(o)).map((o) => `--${o}`);
}
