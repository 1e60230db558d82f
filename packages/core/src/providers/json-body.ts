import type { TranscriptMessage } from "@starling/protocol";
import type { ToolSchema } from "../tools/types.js";

/**
 * A request body serialised ahead of the call: `HttpExchange.post` sends `text` as it is. A turn's body
 * is mostly what the previous turn sent (tool schemas, the history); it is assembled from JSON
 * fragments cached per tool and per stored message instead of serialising all of it again.
 */
export class JsonBody {
  constructor(readonly text: string) {}
}

/** The JSON of `head` with `fields` (each already JSON text) added in front: the value `{...fields, ...head}`. */
export function jsonBody(head: Record<string, unknown>, fields: ReadonlyArray<readonly [key: string, json: string]>): JsonBody {
  const rest = JSON.stringify(head);
  const added = fields.map(([key, json]) => `${JSON.stringify(key)}:${json}`).join(",");
  if (!added) return new JsonBody(rest);
  return new JsonBody(rest === "{}" ? `{${added}}` : `{${added},${rest.slice(1)}`);
}

/**
 * The wire JSON of tool schemas, one string per schema object, for one wire format. A catalog hands out
 * fresh copies of its schemas each turn but keeps their `parameters` objects, so that object is the key
 * (name and description are compared, in case two tools share one).
 */
export class ToolJsonCache {
  private readonly cache = new WeakMap<object, { name: string; description: string; json: string }>();
  constructor(private readonly wire: (tool: ToolSchema) => unknown) {}

  /** The JSON array of `tools` in wire form. */
  json(tools: readonly ToolSchema[]): string {
    return `[${tools.map((tool) => this.one(tool)).join(",")}]`;
  }

  private one(tool: ToolSchema): string {
    const hit = this.cache.get(tool.parameters);
    if (hit && hit.name === tool.name && hit.description === tool.description) return hit.json;
    const json = JSON.stringify(this.wire(tool));
    this.cache.set(tool.parameters, { name: tool.name, description: tool.description, json });
    return json;
  }
}

/**
 * The wire JSON of stored messages for one wire format: the items one message maps to, comma-separated
 * ("" when none). Stored messages never change, so one without files is serialised once; one with files
 * is mapped each time (its wire form depends on the model and on the files).
 */
export class MessageJsonCache {
  private readonly cache = new WeakMap<TranscriptMessage, string>();

  /**
   * The JSON array of `messages`' wire items (`map` gives one message's; its model settings matter only
   * for files), after the `leading` items (already JSON).
   */
  async json(messages: readonly TranscriptMessage[], map: (message: TranscriptMessage) => Promise<unknown[]>, leading: readonly string[] = []): Promise<string> {
    const parts = [...leading];
    for (const message of messages) {
      // A cached message is taken without an await: a long history costs no microtask per message.
      const json = this.cache.get(message) ?? (await this.mapped(message, map));
      if (json) parts.push(json);
    }
    return `[${parts.join(",")}]`;
  }

  private async mapped(message: TranscriptMessage, map: (message: TranscriptMessage) => Promise<unknown[]>): Promise<string> {
    const json = JSON.stringify(await map(message)).slice(1, -1);
    if (!message.content.some((i) => i.type === "file")) this.cache.set(message, json);
    return json;
  }
}
