// /cancel and /continue replies for a continue that waits (conversations/turn-control-replies.ts): they say what
// was withdrawn or what the continue waits for, never "Cancelled the running turn" when none was running.
import { describe, expect, it } from "vitest";
import { WorkerNoAnswer } from "../../src/sessions/answer-deadline.js";
import { continueAcceptedText, withdrawnContinueText } from "../../src/conversations/turn-control-replies.js";

describe("turn control replies", () => {
  it("a withdrawn /continue of the user's says what it waited for and that the turn stays unfinished", () => {
    expect(withdrawnContinueText({ auto: false, waitingFor: "slot" }, "")).toBe(
      "Withdrew the /continue that was waiting for a free turn slot: the turn stays unfinished. Send /continue to resume it.",
    );
    expect(withdrawnContinueText({ auto: false, waitingFor: "worker" }, " Stopped its subagent (a1).")).toBe(
      "Withdrew the /continue that was waiting for the session's worker to start: the turn stays unfinished. Stopped its subagent (a1). Send /continue to resume it.",
    );
  });

  it("a withdrawn automatic continue (after a crash) says the interrupted turn will not be resumed by itself", () => {
    expect(withdrawnContinueText({ auto: true, waitingFor: "worker" }, "")).toBe(
      "Stopped the automatic continue of the interrupted turn (it was waiting for the session's worker to start): the turn will not be resumed automatically. Send /continue to resume it.",
    );
  });

  it("an accepted /continue says when it waits for a worker, and when that worker was killed as stuck", () => {
    expect(continueAcceptedText({ accepted: true })).toBe("Continuing the last turn…");
    expect(continueAcceptedText({ accepted: true, waitingFor: "slot", position: 1 })).toBe("Continuing the last turn…");
    expect(continueAcceptedText({ accepted: true, waitingFor: "worker" })).toBe("Continuing the last turn once the session's worker is ready…");
    expect(continueAcceptedText({ accepted: true, waitingFor: "worker", stuck: new WorkerNoAnswer("session/query", 15_000) })).toBe(
      "⚠️ The session's worker did not answer within 15 s (it was stuck), so it was killed and restarted. The last turn continues once the new worker is ready.",
    );
  });
});
