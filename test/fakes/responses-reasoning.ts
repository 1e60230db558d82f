// Encrypted reasoning on the OpenAI Responses API, for the fake server.
// Documented (API reference: `include`, the `reasoning` output item; reasoning guide): a reasoning model's output
// starts with a `reasoning` item; its `encrypted_content` is filled when the request's `include` holds
// "reasoning.encrypted_content" (newer reference text says it is filled by default; the fake keeps the older,
// stricter rule); with `store: false` the server keeps nothing, so a caller that manages the context itself must
// hand the reasoning items back in `input` for the model to keep its reasoning across tool calls. In a stream, the
// complete item (with `encrypted_content`) comes in `response.output_item.done`. OpenRouter's Responses API
// accepts `store: false` only, and `reasoning` input items with `encrypted_content`.
// Assumed, stricter than the real API (which answers such a follow-up with 200 and reasons without the lost
// item): a request to the same model whose input holds a function call the fake answered with encrypted
// reasoning, but not that reasoning item before it, is refused with 400 "reasoning item required", so a dropped item fails a test
// instead of going unnoticed; an `encrypted_content` the fake never issued is refused as one the real API cannot
// decrypt (reported wording; code `invalid_encrypted_content`).
import { createHash } from "node:crypto";

export const ENCRYPTED_REASONING = "reasoning.encrypted_content";

/** The opaque `encrypted_content` the fake issues for a thought. */
export function encryptedReasoning(thought: string): string {
  return `fake-enc:${createHash("sha256").update(thought).digest("base64")}`;
}

type Node = Record<string, unknown>;
const records = (value: unknown): Node[] => (Array.isArray(value) ? value.filter((v): v is Node => typeof v === "object" && v !== null) : []);

/** Whether a request asks for the encrypted reasoning (`include`). */
export const asksEncryptedReasoning = (body: Node): boolean => Array.isArray(body["include"]) && body["include"].includes(ENCRYPTED_REASONING);

/** What the fake issued: the encrypted reasoning (and the model that wrote it) that went with each function call's `call_id`. */
export class IssuedReasoning {
  private readonly byCall = new Map<string, { encrypted: string; model: unknown }>();
  private readonly issued = new Set<string>();

  record(body: Node, encrypted: string, callIds: readonly string[]): void {
    this.issued.add(encrypted);
    for (const id of callIds) this.byCall.set(id, { encrypted, model: body["model"] });
  }

  /** The 400 error for a request that breaks the rules above; null when it keeps them. */
  refusal(body: Node): { message: string; code: string } | null {
    const input = records(body["input"]);
    for (const [i, item] of input.entries()) {
      const encrypted = item["encrypted_content"];
      if (item["type"] === "reasoning" && typeof encrypted === "string" && !this.issued.has(encrypted)) {
        return { code: "invalid_encrypted_content", message: `input[${i}]: The encrypted content for this reasoning item could not be verified.` };
      }
      const issued = item["type"] === "function_call" ? this.byCall.get(String(item["call_id"])) : undefined;
      if (issued === undefined || issued.model !== body["model"]) continue;
      const wanted = issued.encrypted;
      // The reasoning goes with the output it led to: look back over that output's items (reasoning, message, calls).
      let at = i - 1;
      let found = false;
      for (; at >= 0 && isOutputItem(input[at]!); at--) if (input[at]!["encrypted_content"] === wanted) found = true;
      if (!found) {
        return {
          code: "reasoning_item_required",
          message: `input[${i}]: reasoning item required: function_call '${String(item["call_id"])}' was produced with a reasoning item that is not in the input before it (with store: false it must be sent back)`,
        };
      }
    }
    return null;
  }
}

const isOutputItem = (item: Node): boolean =>
  item["type"] === "reasoning" || item["type"] === "function_call" || (item["type"] === "message" && item["role"] === "assistant");
