/**
 * Text of the per-turn progress panel (one message edited in place). Output is Telegram HTML
 * (send with parse_mode "HTML"); `htmlToPlain` gives the fallback.
 */
import { escapeHtml } from "./html.js";

export type ProgressPhase =
  | "queued"
  | "calling_model"
  | "running_tool"
  | "compacting"
  | "retrying"
  | "done"
  | "failed"
  | "cancelled";

export interface ProgressState {
  model: string;
  phase: ProgressPhase;
  toolName?: string;
  /** 1-based step (model call / tool batch) of the turn. */
  step?: number;
  elapsedMs: number;
  /** Position in the queue when phase is "queued" (1 = next). */
  queuePosition?: number;
  /** Extra line: the error for failed, the reason for retrying, a tool summary, … */
  detail?: string;
  /** The agent's plan (update_plan): one `✓`/`▶`/`○` line per step. */
  plan?: string[];
}

const PLAN_STEPS_MAX = 12;

const DETAIL_MAX = 300;
const FINAL_PHASES: ReadonlySet<ProgressPhase> = new Set(["done", "failed", "cancelled"]);

/** `Ns` under a minute, `Mm SSs` under an hour, then `Hh MMm SSs` ("1m 05s"). */
export function formatElapsed(ms: number): string {
  const total = Math.max(0, Math.floor((Number.isFinite(ms) ? ms : 0) / 1000));
  const s = total % 60;
  const m = Math.floor(total / 60) % 60;
  const h = Math.floor(total / 3600);
  const ss = String(s).padStart(2, "0");
  if (h > 0) return `${h}h ${String(m).padStart(2, "0")}m ${ss}s`;
  if (m > 0) return `${m}m ${ss}s`;
  return `${s}s`;
}

/** True for phases that end the turn (the panel is finalised and no longer edited). */
export function isFinalPhase(phase: ProgressPhase): boolean {
  return FINAL_PHASES.has(phase);
}

function clip(text: string, max: number): string {
  const oneLine = text.replace(/\s+/g, " ").trim();
  if (oneLine.length <= max) return oneLine;
  let cut = max - 1;
  const code = oneLine.charCodeAt(cut - 1);
  if (code >= 0xd800 && code <= 0xdbff) cut -= 1; // do not split a surrogate pair
  return `${oneLine.slice(0, cut)}…`;
}

function phaseLine(state: ProgressState): string {
  const tool = state.toolName ? `<code>${escapeHtml(clip(state.toolName, 64))}</code>` : "a tool";
  switch (state.phase) {
    case "queued":
      return state.queuePosition !== undefined && state.queuePosition > 0
        ? `⏳ Queued (position ${state.queuePosition})`
        : "⏳ Queued";
    case "calling_model":
      return "🧠 Thinking…";
    case "running_tool":
      return `🔧 Running ${tool}`;
    case "compacting":
      return "🗜 Compacting context…";
    case "retrying":
      return "🔁 Retrying after an error…";
    case "done":
      return "✅ Done";
    case "failed":
      return "❌ Failed";
    case "cancelled":
      return "⏹ Cancelled";
  }
}

/**
 * Render the panel. Running phases show model, phase (with step and tool), elapsed time and a
 * hint; final phases show the outcome, model, elapsed time and the detail (e.g. the error).
 */
export function renderProgressPanel(state: ProgressState): string {
  const final = isFinalPhase(state.phase);
  const step = !final && state.step !== undefined && state.step > 0 ? ` · step ${state.step}` : "";
  const lines = [`<b>${phaseLine(state)}</b>${step}`, `🤖 Model: <code>${escapeHtml(clip(state.model, 80) || "unknown")}</code>`];
  if (state.detail !== undefined && state.detail.trim() !== "") {
    const label = state.phase === "failed" ? "📌 Error:" : "📌";
    lines.push(`${label} ${escapeHtml(clip(state.detail, DETAIL_MAX))}`);
  }
  if (state.plan?.length) {
    const shown = state.plan.slice(0, PLAN_STEPS_MAX).map((line) => escapeHtml(clip(line, 120)));
    if (state.plan.length > PLAN_STEPS_MAX) shown.push(`… ${state.plan.length - PLAN_STEPS_MAX} more steps`);
    lines.push("📋 Plan:", ...shown);
  }
  lines.push(`⏱ ${final ? "Took" : "Elapsed"}: ${formatElapsed(state.elapsedMs)}`);
  if (!final) lines.push("", "<i>Send a new message to interrupt, /cancel to stop.</i>");
  else if (state.phase === "failed") lines.push("", "<i>Use /continue to retry the interrupted turn.</i>");
  return lines.join("\n");
}
