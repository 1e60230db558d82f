import { asArray, asRecord, asString, type RawConfig } from "./raw.js";

/** PartyClaw's web channel defaults (agent_host/src/config.rs `default_web_listen_addr`, `default_web_auth_token_env`). */
const PARTYCLAW_WEB_ADDR = "127.0.0.1:8080";
const PARTYCLAW_WEB_TOKEN_ENV = "CLAWPARTY_WEB_AUTH_TOKEN";

/**
 * PartyClaw `{kind: "web", id, listen_addr, auth_token_env, auth_token}` → Starling's web channel on the same
 * address with the same token variable, so the user's env file keeps working. A token written in the file is
 * not copied (Starling takes secrets from the environment only); the note says where it goes.
 */
function convertWebChannel(channel: Record<string, unknown>, at: string, notes: string[]): RawConfig {
  if ("bind_addr" in channel || "token_env" in channel) return structuredClone(channel); // already Starling's shape
  const bindAddr = asString(channel.listen_addr) ?? PARTYCLAW_WEB_ADDR;
  const tokenEnv = asString(channel.auth_token_env)?.trim() || PARTYCLAW_WEB_TOKEN_ENV;
  if (asString(channel.auth_token)?.trim()) {
    notes.push(`${at}.auth_token: not copied (Starling reads secrets only from the environment); put the token in the env file (starling.env next to the config) as ${tokenEnv}=…`);
  }
  notes.push(
    `${at}: PartyClaw web channel converted to a Starling web channel on ${bindAddr}, token from ${tokenEnv}; its page and HTTP API are Starling's (docs/ARCHITECTURE.md §11), so PartyClaw web clients need changing; remove the channel if you do not want it`,
  );
  return { kind: "web", id: channel.id, bind_addr: bindAddr, token_env: tokenEnv };
}

/** Telegram channels are kept as they are, web channels converted; other kinds (command_line, dingtalk…) are dropped with a note. */
export function convertPartyClawChannels(channels: unknown, notes: string[]): unknown[] {
  const out: unknown[] = [];
  asArray(channels).forEach((channel, i) => {
    const fields = asRecord(channel);
    if (fields.kind === "telegram") out.push(structuredClone(channel));
    else if (fields.kind === "web") out.push(convertWebChannel(fields, `channels.${i}`, notes));
    else notes.push(`channels.${i}: ${String(fields.kind)} channel dropped (Starling has telegram and web channels)`);
  });
  return out;
}
