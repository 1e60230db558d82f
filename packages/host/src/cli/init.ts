/**
 * `starling init`: asks for (or, with --non-interactive, takes from flags and the environment) the
 * bot token and the model key, checks both live, and writes the config (with `$schema`) and the env
 * file (mode 600). Secrets are never echoed, never written to the config, never taken from argv.
 */
import * as prompts from "@clack/prompts";
import { existsSync, mkdirSync, rmSync, writeFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import type { ModelConfig } from "@starling/protocol";
import { PROVIDER_PRESETS, writeInitFiles, type InitAnswers } from "./init-files.js";
import { probeModel, probeTelegram } from "./probes.js";

interface InitCommand {
  config: string;
  workdir: string;
  envFile: string;
  nonInteractive: boolean;
  values: Record<string, string | undefined>;
}

const TELEGRAM_API = "https://api.telegram.org";
const TOKEN_SHAPE = /^\d+:[A-Za-z0-9_-]{20,}$/;

class Cancelled extends Error {}

function answered<T>(value: T): Exclude<T, symbol> {
  if (prompts.isCancel(value)) throw new Cancelled();
  return value as Exclude<T, symbol>;
}

function modelOf(answers: Pick<InitAnswers, "modelUrl" | "modelName" | "apiKeyEnv">): ModelConfig {
  return {
    provider_type: "open_router_completion",
    model_name: answers.modelName,
    url: answers.modelUrl,
    ...(answers.apiKeyEnv ? { api_key_env: answers.apiKeyEnv } : {}),
    capabilities: ["chat"],
  } as ModelConfig;
}

export async function runInit(command: InitCommand): Promise<number> {
  const configPath = resolve(command.config);
  if (existsSync(configPath)) {
    process.stderr.write(`starling: ${configPath} already exists; check it with: starling doctor --config ${configPath} --workdir ${resolve(command.workdir)}\n`);
    return 1;
  }
  const unwritable = firstUnwritable([
    ["--config", dirname(configPath)],
    ["--env-file", dirname(resolve(command.envFile))],
    ["--workdir", resolve(command.workdir)],
  ]);
  if (unwritable) {
    process.stderr.write(`starling init: ${unwritable}; nothing was written\n`);
    return 1;
  }
  try {
    const answers = command.nonInteractive ? await fromFlags(command) : await interactive(command);
    if (!answers) return 1;
    const written = writeInitFiles(configPath, resolve(command.envFile), resolve(command.workdir), answers);
    const flags = `--config ${configPath} --workdir ${resolve(command.workdir)}`;
    const lines = [
      `wrote ${configPath}`,
      `wrote ${written.envFile} (mode 600: ${written.names.join(", ")})`,
      "next:",
      `  starling doctor ${flags}`,
      `  starling service install ${flags}     # run it now and at boot (systemd user service)`,
      `  or in the foreground: starling ${flags}`,
    ];
    if (command.nonInteractive) process.stdout.write(`${lines.join("\n")}\n`);
    else prompts.outro(lines.join("\n"));
    return 0;
  } catch (err) {
    if (err instanceof Cancelled) {
      prompts.cancel("init cancelled; nothing was written");
      return 1;
    }
    throw err;
  }
}

/**
 * Before asking anything: every folder init writes to can be created and written, so a wrong path fails
 * at once with the flag to change, not after the secrets were typed and checked, and never with the env
 * file or the config written and the rest missing.
 */
function firstUnwritable(folders: [flag: string, dir: string][]): string | null {
  for (const [flag, dir] of folders) {
    try {
      mkdirSync(dir, { recursive: true });
      const probe = join(dir, `.starling-init-${process.pid}`);
      writeFileSync(probe, "");
      rmSync(probe);
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      const why = code === "EEXIST" || code === "ENOTDIR" ? "a file is in the way" : (code ?? (err as Error).message);
      return `cannot write to ${dir} (${why}); give ${flag} a folder you can write to, or fix its owner or mode (sudo chown -R $USER ${dir})`;
    }
  }
  return null;
}

/** --non-interactive: flags for names and URLs, secrets only from the environment. */
async function fromFlags(command: InitCommand): Promise<InitAnswers | null> {
  const v = command.values;
  const preset = PROVIDER_PRESETS.openrouter;
  const tokenEnv = v.tokenEnv ?? "TELEGRAM_BOT_TOKEN";
  const apiKeyEnv = v.apiKeyEnv === "none" ? undefined : (v.apiKeyEnv ?? preset.apiKeyEnv);
  const answers: InitAnswers = {
    tokenEnv,
    token: process.env[tokenEnv] ?? "",
    telegramApi: v.telegramApi ?? TELEGRAM_API,
    modelUrl: v.modelUrl ?? preset.url,
    modelName: v.modelName ?? preset.modelName,
    apiKeyEnv,
    apiKey: apiKeyEnv ? (process.env[apiKeyEnv] ?? "") : "",
    adminIds: v.adminId ? [v.adminId] : [],
  };
  const fail = (message: string) => {
    process.stderr.write(`starling init: ${message}\n`);
    return null;
  };
  if (!answers.token) return fail(`${tokenEnv} is not set; export it first (the token from @BotFather): ${tokenEnv}=… starling init --non-interactive`);
  if (apiKeyEnv && !answers.apiKey) return fail(`${apiKeyEnv} is not set; export the model API key first (or pass --api-key-env none for a local server without a key)`);
  if (v.adminId && !/^-?\d+$/.test(v.adminId)) return fail(`--admin-id must be a numeric Telegram user id (got ${JSON.stringify(v.adminId)})`);
  const bot = await probeTelegram(answers.token, answers.telegramApi, tokenEnv);
  if (!bot.ok) return fail(bot.detail);
  process.stdout.write(`ok  ${bot.detail}\n`);
  const model = await probeModel("main", modelOf(answers), answers.apiKey || undefined);
  if (!model.ok) return fail(model.detail);
  process.stdout.write(`ok  ${model.detail}\n`);
  return answers;
}

async function interactive(command: InitCommand): Promise<InitAnswers> {
  const v = command.values;
  prompts.intro("starling init");
  const tokenEnv = v.tokenEnv ?? "TELEGRAM_BOT_TOKEN";
  const telegramApi = v.telegramApi ?? TELEGRAM_API;
  let token = "";
  let botName = "";
  for (;;) {
    token = answered(
      await prompts.password({
        message: "Telegram bot token (from @BotFather, /newbot):",
        validate: (value) => (TOKEN_SHAPE.test((value ?? "").trim()) ? undefined : "a token looks like 123456789:AA…; paste the whole line from @BotFather"),
      }),
    ).trim();
    const spin = prompts.spinner();
    spin.start("Checking the token with Telegram (getMe)");
    const probe = await probeTelegram(token, telegramApi, tokenEnv);
    if (probe.ok) {
      spin.stop(`Token works: @${probe.username}`);
      botName = probe.username ?? "";
      break;
    }
    spin.error(probe.detail);
  }

  const provider = answered(
    await prompts.select({
      message: "Model provider:",
      options: [
        { value: "openrouter" as const, label: "OpenRouter", hint: "many models, one key" },
        { value: "openai" as const, label: "OpenAI" },
        { value: "local" as const, label: "Local server (Ollama, llama.cpp, vLLM)", hint: "no key" },
        { value: "custom" as const, label: "Another OpenAI-compatible endpoint" },
      ],
    }),
  );
  const preset = PROVIDER_PRESETS[provider];
  const modelUrl =
    provider === "custom" || provider === "local"
      ? answered(
          await prompts.text({
            message: "Chat-completions endpoint (the full URL):",
            initialValue: v.modelUrl ?? preset.url,
            validate: (value) => (/^https?:\/\/\S+$/.test(value ?? "") ? undefined : "an http(s) URL, e.g. http://127.0.0.1:11434/v1/chat/completions"),
          }),
        )
      : (v.modelUrl ?? preset.url);
  const modelName = answered(await prompts.text({ message: "Model name:", initialValue: v.modelName ?? preset.modelName, validate: (value) => (value ? undefined : "required") }));
  const apiKeyEnv = provider === "local" ? undefined : (v.apiKeyEnv ?? preset.apiKeyEnv);
  let apiKey = "";
  for (;;) {
    if (apiKeyEnv) {
      apiKey = answered(await prompts.password({ message: `API key (saved as ${apiKeyEnv} in the env file):`, validate: (value) => (value?.trim() ? undefined : "required") })).trim();
    }
    const spin = prompts.spinner();
    spin.start(`Checking the key against ${modelUrl}`);
    const probe = await probeModel("main", modelOf({ modelUrl, modelName, apiKeyEnv }), apiKey || undefined);
    if (probe.ok) {
      spin.stop("The model server accepted the key");
      break;
    }
    spin.error(probe.detail);
    if (!apiKeyEnv || !probe.rejected) {
      const keep = answered(await prompts.confirm({ message: "Keep these settings anyway (fix them later with starling doctor)?", initialValue: false }));
      if (keep) break;
      throw new Cancelled();
    }
  }
  const admin = answered(
    await prompts.text({
      message: `Your Telegram user id, to be admin of @${botName} (optional; @userinfobot tells you):`,
      placeholder: "e.g. 123456789",
      validate: (value) => (!value || /^\d+$/.test(value) ? undefined : "digits only"),
    }),
  );
  return { tokenEnv, token, telegramApi, modelUrl, modelName, apiKeyEnv, apiKey, adminIds: admin ? [admin] : [] };
}
