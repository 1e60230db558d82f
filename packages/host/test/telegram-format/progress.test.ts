import { describe, expect, it } from "vitest";
import {
  formatElapsed,
  htmlToPlain,
  isFinalPhase,
  renderProgressPanel,
  type ProgressPhase,
} from "../../src/channels/telegram/format/index.js";
import { assertTelegramHtml } from "./helpers.js";

const PHASES: ProgressPhase[] = ["queued", "calling_model", "running_tool", "compacting", "retrying", "done", "failed", "cancelled"];

describe("formatElapsed", () => {
  it("formats seconds, minutes and hours", () => {
    expect(formatElapsed(0)).toBe("0s");
    expect(formatElapsed(999)).toBe("0s");
    expect(formatElapsed(42_000)).toBe("42s");
    expect(formatElapsed(65_000)).toBe("1m 05s");
    expect(formatElapsed(600_000)).toBe("10m 00s");
    expect(formatElapsed(3_723_000)).toBe("1h 02m 03s");
    expect(formatElapsed(-5)).toBe("0s");
    expect(formatElapsed(Number.NaN)).toBe("0s");
  });
});

describe("renderProgressPanel", () => {
  it("shows model, tool, step and elapsed time while running", () => {
    const html = renderProgressPanel({ model: "gpt-5 <mini>", phase: "running_tool", toolName: "shell", step: 3, elapsedMs: 65_000 });
    assertTelegramHtml(html);
    const plain = htmlToPlain(html);
    expect(plain).toContain("Running shell");
    expect(plain).toContain("step 3");
    expect(plain).toContain("Model: gpt-5 <mini>");
    expect(plain).toContain("1m 05s");
    expect(plain).toContain("/cancel");
  });

  it("describes each phase in words", () => {
    const plain = (phase: ProgressPhase, extra: object = {}): string =>
      htmlToPlain(renderProgressPanel({ model: "m", phase, elapsedMs: 1000, ...extra }));
    expect(plain("queued", { queuePosition: 2 })).toContain("Queued (position 2)");
    expect(plain("calling_model")).toContain("Thinking");
    expect(plain("compacting")).toContain("Compacting");
    expect(plain("retrying", { detail: "HTTP 529 overloaded" })).toContain("HTTP 529 overloaded");
    expect(plain("running_tool")).toContain("Running a tool");
  });

  it("ends with a final line for done, failed and cancelled", () => {
    const done = htmlToPlain(renderProgressPanel({ model: "m", phase: "done", elapsedMs: 5_000, step: 4 }));
    expect(done.split("\n")[0]).toBe("✅ Done");
    expect(done).toContain("Took: 5s");
    expect(done).not.toContain("/cancel");
    const failed = htmlToPlain(renderProgressPanel({ model: "m", phase: "failed", elapsedMs: 61_000, detail: "provider error: 500 & <boom>" }));
    expect(failed.split("\n")[0]).toBe("❌ Failed");
    expect(failed).toContain("Error: provider error: 500 & <boom>");
    expect(failed).toContain("/continue");
    const cancelled = htmlToPlain(renderProgressPanel({ model: "m", phase: "cancelled", elapsedMs: 1_000 }));
    expect(cancelled.split("\n")[0]).toBe("⏹ Cancelled");
    expect(isFinalPhase("done") && isFinalPhase("failed") && isFinalPhase("cancelled")).toBe(true);
    expect(isFinalPhase("running_tool")).toBe(false);
  });

  it("is always valid HTML and short, even with long details", () => {
    for (const phase of PHASES) {
      const html = renderProgressPanel({
        model: "x".repeat(500),
        phase,
        toolName: "<tool>&".repeat(50),
        step: 2,
        elapsedMs: 12_345,
        queuePosition: 1,
        detail: "😀".repeat(2000),
      });
      assertTelegramHtml(html);
      expect(html.length).toBeLessThan(1200);
    }
  });
});
