import { parseArgs } from "node:util";

export type CliCommand =
  | { kind: "run"; config: string; workdir: string }
  | { kind: "init"; config: string; workdir: string; nonInteractive: boolean; values: Record<string, string | undefined> }
  | { kind: "doctor"; config: string; workdir: string }
  | { kind: "service"; action: "install" | "uninstall" | "status"; config: string; workdir: string }
  | { kind: "help" }
  | { kind: "version" }
  | { kind: "list-crash-points" };

export const USAGE = `starling — self-hosted agent server

Usage:
  starling --config FILE --workdir DIR          run the host (Telegram channels, sessions)
  starling init [--config FILE] [--workdir DIR] write a working config (asks for the bot token and model,
                [--token-env NAME] [--model-url URL] [--model-name NAME] [--api-key-env NAME] [--yes]
  starling doctor --config FILE --workdir DIR   check config, bot token (getMe), model endpoint, sandbox
  starling service install|uninstall|status --config FILE --workdir DIR
                                                manage the systemd user service (starling.service)
  starling --list-crash-points                  names accepted by STARLING_CRASH_AT
  starling --help | --version`;

/** Parses argv (without node and script). Throws an Error with a message for the user on bad input. */
export function parseCli(argv: string[]): CliCommand {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    strict: true,
    options: {
      config: { type: "string", short: "c" },
      workdir: { type: "string", short: "w" },
      help: { type: "boolean", short: "h" },
      version: { type: "boolean", short: "v" },
      "list-crash-points": { type: "boolean" },
      "token-env": { type: "string" },
      token: { type: "string" },
      "model-url": { type: "string" },
      "model-name": { type: "string" },
      "api-key-env": { type: "string" },
      yes: { type: "boolean", short: "y" },
    },
  });
  if (values.help) return { kind: "help" };
  if (values.version) return { kind: "version" };
  if (values["list-crash-points"]) return { kind: "list-crash-points" };
  const [sub, action] = positionals;
  const config = values.config;
  const workdir = values.workdir;
  const need = (what: string) => {
    if (!config || !workdir) throw new Error(`${what} needs --config FILE and --workdir DIR (see starling --help)`);
    return { config, workdir };
  };
  switch (sub) {
    case undefined:
      return { kind: "run", ...need("starling") };
    case "init":
      return {
        kind: "init",
        config: config ?? "starling.json",
        workdir: workdir ?? "starling-workdir",
        nonInteractive: !!values.yes || !process.stdin.isTTY,
        values: {
          tokenEnv: values["token-env"],
          token: values.token,
          modelUrl: values["model-url"],
          modelName: values["model-name"],
          apiKeyEnv: values["api-key-env"],
        },
      };
    case "doctor":
      return { kind: "doctor", ...need("doctor") };
    case "service":
      if (action !== "install" && action !== "uninstall" && action !== "status") {
        throw new Error(`service needs install, uninstall or status (got ${action ?? "nothing"})`);
      }
      return { kind: "service", action, ...need(`service ${action}`) };
    default:
      throw new Error(`unknown command "${sub}" (see starling --help)`);
  }
}
