// The fake Bot API made hostile on command (issue #7): a nemesis decides, per call, whether the
// call fails before reaching the method, the connection is reset (before or after the method ran:
// the client cannot know whether a message was sent), the request hangs, or the answer is slow.
import type { Fault } from "./types.js";

export type NemesisAction =
  | { kind: "fault"; fault: Fault }
  /** Destroy the connection before the method runs (nothing happened). */
  | { kind: "reset" }
  /** Run the method, then destroy the connection instead of answering (it happened; the client cannot tell). */
  | { kind: "reset_after" }
  /** Never answer (until the client gives up). */
  | { kind: "hang" }
  /** Answer after `ms`. */
  | { kind: "delay"; ms: number }
  /** Answer once `until` resolves (the test decides when). */
  | { kind: "hold"; until: Promise<void> };

export interface NemesisCall {
  method: string;
  params: Record<string, unknown>;
}

export type Nemesis = (call: NemesisCall) => NemesisAction | undefined;

/** A label for counting injected faults: `429`, `500`, `reset`, `hang`, `400 message is not modified`, … */
export function nemesisLabel(action: NemesisAction): string {
  if (action.kind !== "fault") return action.kind;
  const f = action.fault;
  return f.status === 429 ? "429" : f.description ? `${f.status} ${f.description}` : String(f.status);
}

export interface NemesisRule {
  /** Methods it applies to (case-insensitive). */
  methods: string[];
  /** Chance per call in [0, 1]. */
  rate: number;
  action: NemesisAction;
  /** At most this many times (default unlimited). */
  limit?: number;
}

/**
 * A seeded nemesis from rules (first matching rule whose dice roll hits wins). A rule that has not
 * fired by the ⌈1/rate⌉-th call it was asked about fires then: how many calls a run makes depends on
 * timing (a loaded machine polls less often), and every kind of fault must still show up in a short
 * run. `counts` tells how many faults of each label were injected, for the report.
 */
export function ruleNemesis(rules: NemesisRule[], random: () => number): { nemesis: Nemesis; counts: Map<string, number> } {
  const counts = new Map<string, number>();
  const used = new Map<NemesisRule, number>();
  const asked = new Map<NemesisRule, number>();
  const nemesis: Nemesis = ({ method }) => {
    for (const rule of rules) {
      if (!rule.methods.some((m) => m.toLowerCase() === method.toLowerCase())) continue;
      const fired = used.get(rule) ?? 0;
      if (fired >= (rule.limit ?? Infinity)) continue;
      const calls = (asked.get(rule) ?? 0) + 1;
      asked.set(rule, calls);
      const due = fired === 0 && rule.rate > 0 && calls >= Math.ceil(1 / rule.rate);
      if (!due && random() >= rule.rate) continue;
      used.set(rule, fired + 1);
      const label = `${method} ${nemesisLabel(rule.action)}`;
      counts.set(label, (counts.get(label) ?? 0) + 1);
      return rule.action;
    }
    return undefined;
  };
  return { nemesis, counts };
}
