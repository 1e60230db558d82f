// The simplest fake model of the reliability tests: it answers the markers of the last user message.
import type { RecordedRequest, ScriptedReply } from "../fakes/openai-server.js";
import { markersIn } from "./history.js";

export function answerLastMarkers(req: RecordedRequest): ScriptedReply {
  const users = ((req.body.messages ?? []) as { role: string; content?: unknown }[]).filter((m) => m.role === "user");
  return { text: `Answer to ${markersIn(JSON.stringify(users.at(-1)?.content ?? "")).join(" ")}.` };
}
