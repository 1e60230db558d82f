import { describe, expect, it } from "vitest";
import { planLines } from "../../src/conversations/chat-actions.js";

// Scope: how a plan reads in /status and the panel (chat-actions.ts planLines).
describe("plan lines", () => {
  const plan = (n: number) => ({ turnId: 1, updatedAt: "", plan: Array.from({ length: n }, (_, i) => ({ step: `step ${i + 1}`, status: i === 0 ? ("in_progress" as const) : ("pending" as const) })) });

  it("shows every step of a short plan", () => {
    expect(planLines(plan(3), 30)).toHaveLength(3);
  });

  it("shows the first steps of a long plan and counts the rest", () => {
    const lines = planLines(plan(300), 30);
    expect(lines).toHaveLength(31);
    expect(lines[29]).toContain("step 30");
    expect(lines[30]).toBe("… and 270 more steps");
    expect(planLines(plan(31), 30).at(-1)).toBe("… and 1 more step");
  });
});
