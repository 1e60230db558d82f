import { readFileSync } from "node:fs";
import { isAbsolute } from "node:path";

export interface SystemdUnitOptions {
  /** Absolute path of the node binary (e.g. process.execPath). */
  nodePath: string;
  /** Node/V8 flags before main.js (the host's HOST_NODE_FLAGS). */
  nodeFlags?: readonly string[];
  /** Absolute path of Starling's main.js (packages/host/dist/main.js). */
  mainPath: string;
  /** Absolute path of the config file. */
  configPath: string;
  /** Absolute path of the workdir. */
  workdir: string;
  /** Absolute path of the KEY=value file with the secrets, passed as `--env-file` (starling reads it itself). */
  environmentFile?: string;
  /** Non-secret variables the service needs from the installing shell (NODE_EXTRA_CA_CERTS), as `Environment=` lines. */
  environment?: Readonly<Record<string, string>>;
}

export const SYSTEMD_TEMPLATE_PATH = new URL("../systemd/starling.service.template", import.meta.url);

/** `%` starts a specifier and `$` a variable in unit files; quote arguments with spaces. */
function escapeValue(value: string): string {
  return value.replaceAll("%", "%%").replaceAll("$", "$$$$");
}

function quoteArgument(value: string): string {
  const escaped = escapeValue(value);
  return /[\s"'\\;]/.test(value) ? `"${escaped.replaceAll("\\", "\\\\").replaceAll('"', '\\"')}"` : escaped;
}

/** `Environment="NAME=value"`: systemd expands `%` specifiers there, not `$`. */
function environmentLine(name: string, value: string): string {
  if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(name)) throw new Error(`environment: ${JSON.stringify(name)} is not a variable name`);
  if (/[\n\r\0]/.test(value)) throw new Error(`environment.${name} must not contain line breaks`);
  return `Environment="${`${name}=${value}`.replaceAll("%", "%%").replaceAll("\\", "\\\\").replaceAll('"', '\\"')}"`;
}

function checkPath(name: string, value: string): void {
  if (!isAbsolute(value)) throw new Error(`${name} must be an absolute path (got ${JSON.stringify(value)})`);
  if (/[\n\r\0]/.test(value)) throw new Error(`${name} must not contain line breaks`);
}

/** The systemd user unit that runs Starling (`~/.config/systemd/user/starling.service`). */
export function renderSystemdUnit(options: SystemdUnitOptions): string {
  const paths = {
    nodePath: options.nodePath,
    mainPath: options.mainPath,
    configPath: options.configPath,
    workdir: options.workdir,
    ...(options.environmentFile !== undefined ? { environmentFile: options.environmentFile } : {}),
  };
  for (const [name, value] of Object.entries(paths)) checkPath(name, value);
  const values: Record<string, string> = {
    node_path: quoteArgument(options.nodePath),
    node_flags: (options.nodeFlags ?? []).map((flag) => ` ${quoteArgument(flag)}`).join(""),
    main_path: quoteArgument(options.mainPath),
    config_path: quoteArgument(options.configPath),
    workdir: quoteArgument(options.workdir),
    env_file_args: options.environmentFile !== undefined ? ` --env-file ${quoteArgument(options.environmentFile)}` : "",
    environment: Object.entries(options.environment ?? {})
      .map(([name, value]) => `\n${environmentLine(name, value)}`)
      .join(""),
  };
  const template = readFileSync(SYSTEMD_TEMPLATE_PATH, "utf8");
  // WorkingDirectory= takes the path as is (no quotes), unlike ExecStart= arguments.
  const text = template
    .replace(/^WorkingDirectory=-\{\{workdir\}\}$/m, `WorkingDirectory=-${escapeValue(options.workdir)}`)
    .replace(/\{\{(\w+)\}\}/g, (match, key: string) => values[key] ?? match);
  const left = /\{\{\w+\}\}/.exec(text);
  if (left) throw new Error(`systemd template has an unknown placeholder ${left[0]}`);
  return text;
}
