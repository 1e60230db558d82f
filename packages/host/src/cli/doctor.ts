import { spawnSync } from "node:child_process";
import { Telegram } from "telegraf";
import { loadOrReport } from "./run-cli.js";

interface Check {
  name: string;
  ok: boolean;
  detail: string;
}

/** Checks config, each bot token (getMe), each chat model endpoint and the sandbox; every failure says what to do. */
export async function runDoctor(configPath: string, workdir: string): Promise<number> {
  const checks: Check[] = [];
  const config = loadOrReport(configPath);
  checks.push({ name: "config", ok: !!config, detail: config ? `${configPath} is valid` : "fix the problems listed above" });
  if (config) {
    for (const channel of config.channels) {
      const token = process.env[channel.bot_token_env];
      if (!token) {
        checks.push({ name: `telegram ${channel.id}`, ok: false, detail: `set ${channel.bot_token_env} to the token from @BotFather` });
        continue;
      }
      try {
        const me = await new Telegram(token, { apiRoot: channel.api_base_url }).getMe();
        checks.push({ name: `telegram ${channel.id}`, ok: true, detail: `token works: @${me.username}` });
      } catch (err) {
        checks.push({
          name: `telegram ${channel.id}`,
          ok: false,
          detail: `getMe failed (${(err as Error).message}); check ${channel.bot_token_env} and that ${channel.api_base_url} is reachable`,
        });
      }
    }
    for (const [alias, model] of Object.entries(config.models)) {
      checks.push(await checkEndpoint(alias, model.url));
    }
    if (config.sandbox.mode === "bubblewrap") {
      const run = spawnSync(config.sandbox.bubblewrap_binary, ["--ro-bind", "/", "/", "true"], { encoding: "utf8" });
      checks.push({
        name: "sandbox",
        ok: run.status === 0,
        detail:
          run.status === 0
            ? "bubblewrap works"
            : `bubblewrap failed (${run.error?.message ?? run.stderr.trim()}); install it (apt-get install bubblewrap) or set sandbox.mode to "subprocess"`,
      });
    } else {
      checks.push({ name: "sandbox", ok: true, detail: "subprocess mode (tools run as your user, confined to the workspace by path checks)" });
    }
  }
  checks.push({ name: "workdir", ok: true, detail: workdir });
  for (const c of checks) process.stdout.write(`${c.ok ? "ok  " : "FAIL"}  ${c.name}: ${c.detail}\n`);
  return checks.every((c) => c.ok) ? 0 : 1;
}

/** Any HTTP answer (even 401/404/405) proves the endpoint is reachable; only network failures fail. */
async function checkEndpoint(alias: string, url: string): Promise<Check> {
  try {
    const response = await fetch(url, { method: "GET", signal: AbortSignal.timeout(10_000) });
    return { name: `model ${alias}`, ok: true, detail: `${url} answered HTTP ${response.status}` };
  } catch (err) {
    return { name: `model ${alias}`, ok: false, detail: `${url} is not reachable (${(err as Error).message}); check the url and the network` };
  }
}
