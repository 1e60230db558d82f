// The repo's fake OpenAI-compatible model server, runnable on its own for trying embed.py offline.
//   pnpm exec tsx examples/embed-python/fake-model.ts
// Prints its endpoint URL and serves until Ctrl-C. Its answers are scripted, not intelligent:
//   - a message that mentions "files" gets an `ls` tool call first, then a summary of the result;
//   - any other message gets "You said: <message>".
import { startFakeOpenAI, type RecordedRequest, type ScriptedReply } from "../../test/fakes/openai-server.js";

type WireMessage = { role: string; content?: unknown };

function textOf(content: unknown): string {
  if (typeof content === "string") return content;
  if (Array.isArray(content)) return content.map((part) => (part as { text?: string }).text ?? "").join("");
  return "";
}

/** Answers one chat-completions request from the conversation it carries. */
export function scriptedAnswer(req: RecordedRequest): ScriptedReply {
  const messages = (req.body["messages"] ?? []) as WireMessage[];
  const last = messages[messages.length - 1];
  if (last?.role === "tool") return { text: `The workspace holds: ${textOf(last.content).trim() || "nothing"}` };
  // With a userName the worker puts a "[from <name> at <time>]" line before the text.
  const said = textOf(last?.content).replace(/^\[from [^\]]*\]\s*/, "").trim();
  if (/\bfiles\b/i.test(said)) return { toolCalls: [{ name: "ls", arguments: { path: "." }, id: "call_ls_1" }] };
  return { text: `You said: ${said}` };
}

if (process.argv[1]?.endsWith("fake-model.ts")) {
  const fake = await startFakeOpenAI({ responder: scriptedAnswer });
  process.stdout.write(`${fake.url}\n`);
  const stop = () => void fake.close().then(() => process.exit(0));
  process.on("SIGINT", stop);
  process.on("SIGTERM", stop);
}
