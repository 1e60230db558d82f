// The model of the edit tests (telegram-edits, album-edits): it echoes the last line of what it was asked, and a
// message saying "slowly" holds the only turn slot until the test lets it go, so later messages wait for it.
import type { RecordedRequest, ScriptedReply } from "../fakes/openai-server.js";
import { lastUserText } from "./fixture.js";

export function deferred(): { promise: Promise<void>; resolve: () => void } {
  let resolve!: () => void;
  const promise = new Promise<void>((r) => (resolve = r));
  return { promise, resolve };
}

/** Echoes; a "slowly" message is held until the promise `hold()` returns when it is asked resolves. */
export function echoHolding(hold: () => Promise<void>): (req: RecordedRequest) => ScriptedReply {
  return (req) => {
    const text = lastUserText(req);
    return { text: `echo: ${text.split("\n").filter(Boolean).at(-1)}`, ...(text.includes("slowly") ? { holdUntil: hold() } : {}) };
  };
}
