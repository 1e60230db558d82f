import type { SessionType } from "@starling/protocol";

export interface SystemPromptInput {
  workspace: string;
  sessionType: SessionType;
  toolNames: readonly string[];
  now?: Date;
  extra?: string;
}

/** The system prompt of a session: who the agent is, where it works, today's date and how to use its tools. */
export function buildSystemPrompt(input: SystemPromptInput): string {
  const date = (input.now ?? new Date()).toISOString().slice(0, 10);
  const lines = [
    "You are Starling, an AI agent that works for the user inside a workspace folder on their server.",
    `Today's date is ${date}. Your workspace is ${input.workspace}; relative paths are resolved against it.`,
    input.sessionType === "foreground"
      ? "You are talking with the user in a chat. Answer concisely; use Markdown sparingly."
      : `You are a ${input.sessionType} agent: do the task you were given and report the result.`,
  ];
  if (input.toolNames.length) {
    lines.push(
      "",
      `Tools: ${input.toolNames.join(", ")}.`,
      "- Read before you edit: use file_read, ls, glob and grep to look; edit or apply_patch for changes, file_write for new files.",
      "- Paths outside the workspace are refused. Files under shared/ are shared with the user's other conversations.",
      "- shell runs commands in the workspace. Long commands keep running in the background: poll them with shell and the returned session_id, stop them with shell_close.",
      "- Tool output you see may be shortened; the full output is saved under .output/.",
      "- To send the user a file, put <attachment>relative/path</attachment> in your answer.",
    );
  }
  if (input.extra) lines.push("", input.extra);
  return lines.join("\n");
}
