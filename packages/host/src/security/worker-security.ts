import { existsSync, realpathSync } from "node:fs";
import { join, resolve } from "node:path";
import { allowlistedEnv, EXTRA_CA_ENV, type ModelConfig, type SecretDigest, secretDigest, ToolSandbox } from "@starling/protocol";
import type { HostSettings } from "../conversations/settings.js";
import type { SandboxMode } from "../state/records.js";
import { WORKER_MALLOC_ENV } from "../worker-path.js";
import { workerNodeOptions } from "../worker-node-options.js";

/**
 * The worker's environment: the allowlist (PATH, locale, HOME, TMPDIR, STARLING_* knobs…), the
 * malloc setting (WORKER_MALLOC_ENV) and the host's test knobs, never the bot token or any config-named secret (ARCHITECTURE §2).
 * The host's `NODE_EXTRA_CA_CERTS` (a private CA for a model endpoint or proxy) reaches the worker as
 * STARLING_EXTRA_CA_CERTS, read on its first https call instead of at every worker start. NODE_OPTIONS
 * goes on without its code-loading and inspector options (workerNodeOptions).
 */
export function workerEnvironment(settings: HostSettings, env: NodeJS.ProcessEnv = process.env): NodeJS.ProcessEnv {
  const secrets = settings.secrets ?? {};
  // An explicit STARLING_EXTRA_CA_CERTS comes through the allowlist (STARLING_*) and wins.
  const extraCa = env[EXTRA_CA_ENV] ? undefined : env.NODE_EXTRA_CA_CERTS;
  const { NODE_OPTIONS, ...allowed } = allowlistedEnv(env, { secretNames: Object.keys(secrets), secretValues: Object.values(secrets) });
  const nodeOptions = workerNodeOptions(NODE_OPTIONS).value;
  return {
    ...WORKER_MALLOC_ENV,
    ...allowed,
    ...(nodeOptions ? { NODE_OPTIONS: nodeOptions } : {}),
    ...(extraCa ? { [EXTRA_CA_ENV]: extraCa } : {}),
    ...settings.workerEnv,
  };
}

/** The model keys a session needs (`api_key_env` of its model and helper models) for `initialize.secrets`. */
export function modelSecrets(settings: HostSettings, models: readonly ModelConfig[]): Record<string, string> | undefined {
  const out: Record<string, string> = {};
  for (const model of models) {
    const name = model.api_key_env;
    const value = name ? settings.secrets?.[name] : undefined;
    if (name && value) out[name] = value;
  }
  return Object.keys(out).length ? out : undefined;
}

/**
 * `initialize.secretDigests`: every host secret the session is not given (bot tokens, keys of other
 * models, a ChatGPT sign-in's refresh and id tokens, and its access token for sessions on other models),
 * as name, length and SHA-256, so the worker redacts it from tool results and logs without ever
 * holding it (docs/SECURITY.md). Secrets too short for a safe digest are left out.
 */
export function withheldSecretDigests(settings: HostSettings, given: Readonly<Record<string, string>>): SecretDigest[] | undefined {
  const digests: SecretDigest[] = [];
  // A ChatGPT sign-in (codex_subscription) is a secret too: its refresh token stays in the host.
  for (const [name, value] of Object.entries({ ...settings.secrets, ...settings.codexAuth?.withheld() })) {
    if (name in given) continue;
    const digest = secretDigest(name, value);
    if (digest) digests.push(digest);
  }
  return digests.length ? digests : undefined;
}

/** `initialize.sandbox`: how the worker starts its tool processes. */
export function toolSandbox(settings: HostSettings, mode: SandboxMode): ToolSandbox {
  const s = settings.sandbox;
  return ToolSandbox.parse({
    mode,
    bubblewrapBinary: s.bubblewrapBinary,
    sharedDir: join(settings.workdir, "rundir", "shared"),
    softwareDir: s.softwareDir,
    softwareMountPath: s.softwareMountPath,
    network: s.network,
    pidNamespace: s.pidNamespace,
    env: s.env,
    limits: s.limits,
    hiddenPaths: s.hiddenPaths,
  });
}

/**
 * The files that hold secrets (config, env file) as absolute paths, each also by its real path when a
 * symlink leads there: what `initialize.sandbox.hiddenPaths` masks. Files that do not exist are left out.
 */
export function secretFilePaths(files: readonly string[]): string[] {
  const out = new Set<string>();
  for (const file of files) {
    const path = resolve(file);
    if (!existsSync(path)) continue;
    out.add(path);
    out.add(realpathSync(path));
  }
  return [...out];
}
