// The fake model of the soak: what it does for a message is fixed by the seed and the message's
// marker (not by arrival order), so a seed replays the same scripts whatever the timing.
import type { RecordedRequest, ScriptedReply } from "../fakes/openai-server.js";
import { cronRunsIn, cronSlotsIn, markersIn } from "./history.js";

/** Words of the soak's messages that make the model create or remove its cron task. */
export const CRON_SETUP = "set up the soak cron";
export const CRON_REMOVE = "remove the soak cron";
/** Every 3 s: several slots fire between kills. */
const CRON_TASK = {
  name: "soak-tick",
  description: "A tick the random-kill soak checks for at-most-once runs.",
  cron_second: "*/3",
  cron_minute: "*",
  cron_hour: "*",
  cron_day_of_month: "*",
  cron_month: "*",
  cron_day_of_week: "*",
  task: "Say that the soak tick ran.",
};

/** mulberry32: a small, well-known seeded PRNG (uniform in [0, 1)). */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** A number in [0, 1) fixed by the seed and a string (FNV-1a mixed into the seed). */
export function hashUnit(seed: number, key: string): number {
  let h = 0x811c9dc5 ^ seed;
  for (let i = 0; i < key.length; i++) h = Math.imul(h ^ key.charCodeAt(i), 0x01000193);
  return prng(h >>> 0)();
}

export type TurnKind = "plain" | "tool" | "slow" | "flaky";
export const TURN_KINDS: readonly TurnKind[] = ["plain", "tool", "slow", "flaky"];

export function kindOf(seed: number, marker: string): TurnKind {
  const u = hashUnit(seed, `kind:${marker}`);
  return u < 0.4 ? "plain" : u < 0.7 ? "tool" : u < 0.88 ? "slow" : "flaky";
}

interface WireMessage {
  role: string;
  content?: unknown;
}

function textOf(m: WireMessage): string {
  if (typeof m.content === "string") return m.content;
  if (Array.isArray(m.content)) return (m.content as { text?: string }[]).map((p) => p.text ?? "").join("\n");
  return "";
}

export interface SoakModel {
  respond(req: RecordedRequest): ScriptedReply;
  /** Model calls answered with an injected error so far. */
  injectedErrors: number;
}

/**
 * The answer names every marker of the history that no earlier assistant text answered, so a turn
 * that took in newer messages (or resumed after a crash) answers all of them in one reply.
 * plain: answers at once; tool: file_write, then shell, then answers; slow: answers after 0.8–2.5 s;
 * flaky: the first two calls for the marker fail with 500 (one turn failure with /continue offered).
 */
/**
 * A background session's cron run: answers every slot of the history not answered yet, naming each as
 * `cron-run:<slot>`; half the slots (by seed) take 0.8–2.5 s, so kills land in the middle of runs.
 */
function cronReply(seed: number, messages: WireMessage[]): ScriptedReply | null {
  const answered = new Set(messages.filter((m) => m.role === "assistant").flatMap((m) => cronRunsIn(textOf(m))));
  const pending = [...new Set(messages.filter((m) => m.role === "user").flatMap((m) => cronSlotsIn(textOf(m))))].filter((s) => !answered.has(s));
  if (pending.length === 0) return null;
  const slow = hashUnit(seed, `cron:${pending.at(-1)}`);
  return { delayMs: slow < 0.5 ? 800 + Math.floor(slow * 3400) : 0, text: `Cron run ${pending.map((s) => `cron-run:${s}`).join(" ")} done.` };
}

export function soakModel(seed: number): SoakModel {
  const errorsGiven = new Map<string, number>();
  const model: SoakModel = {
    injectedErrors: 0,
    respond(req) {
      const messages = ((req.body.messages ?? []) as WireMessage[]).filter((m) => m.role !== "system");
      const cron = cronReply(seed, messages);
      if (cron) return cron;
      const answered = new Set(messages.filter((m) => m.role === "assistant").flatMap((m) => markersIn(textOf(m))));
      const pending = [...new Set(messages.filter((m) => m.role === "user").flatMap((m) => markersIn(textOf(m))))].filter((m) => !answered.has(m));
      if (pending.length === 0) return { text: "Nothing new to answer." };
      const main = pending.at(-1)!;
      const lastUser = messages.map((m) => m.role).lastIndexOf("user");
      const toolSteps = messages.slice(lastUser + 1).filter((m) => m.role === "tool").length;
      const answer = `Answer to ${pending.join(" ")}.`;
      const lastText = textOf(messages[lastUser] ?? { role: "user" });
      for (const [words, name, args] of [
        [CRON_SETUP, "create_cron_task", CRON_TASK],
        [CRON_REMOVE, "remove_cron_task", { id: "cron_0001" }],
      ] as const) {
        if (!lastText.includes(words)) continue;
        return toolSteps === 0 ? { toolCalls: [{ name, arguments: args }] } : { text: answer };
      }
      switch (kindOf(seed, main)) {
        case "tool":
          if (toolSteps === 0) return { toolCalls: [{ name: "file_write", arguments: { file_path: `notes/${main.replace(":", "_")}.txt`, content: main } }] };
          if (toolSteps === 1) return { toolCalls: [{ name: "shell", arguments: { command: `cat notes/${main.replace(":", "_")}.txt`, wait_ms: 5_000 } }] };
          return { text: answer };
        case "slow":
          return { delayMs: 800 + Math.floor(hashUnit(seed, `delay:${main}`) * 1700), text: answer };
        case "flaky": {
          const given = errorsGiven.get(main) ?? 0;
          if (given < 2) {
            errorsGiven.set(main, given + 1);
            model.injectedErrors++;
            return { status: 500 };
          }
          return { text: answer };
        }
        default:
          return { delayMs: Math.floor(hashUnit(seed, `delay:${main}`) * 200), text: answer };
      }
    },
  };
  return model;
}
