import type { TranscriptMessage } from "@starling/protocol";
import type { ToolSchema } from "../tools/types.js";

/**
 * JSON text and its length in UTF-8, measured once: a cached fragment (a tool schema, a stored message)
 * is written into many bodies, each time straight from the string into the body's buffer.
 */
export interface JsonText {
  readonly json: string;
  readonly bytes: number;
}

/** A JSON array of fragments (each one or more comma-separated items), written without joining them first. */
export interface JsonList {
  readonly items: readonly JsonText[];
  readonly bytes: number;
}

export function jsonText(json: string): JsonText {
  return { json, bytes: Buffer.byteLength(json) };
}

export function jsonList(items: readonly JsonText[]): JsonList {
  let bytes = items.length + (items.length === 0 ? 2 : 1); // brackets and commas
  for (const item of items) bytes += item.bytes;
  return { items, bytes };
}

type Part = JsonText | JsonList;

/**
 * A request body serialised ahead of the call, as a list of JSON fragments. A turn's body is mostly what
 * the previous turn sent (tool schemas, the history): its fragments are cached per tool and per stored
 * message, and the body is never joined into one string: `HttpExchange.post` writes the fragments into
 * one reused buffer (body-buffer.ts); `text` joins them, for codex's frame (sent as text) and for tests.
 */
export class JsonBody {
  readonly byteLength: number;
  constructor(private readonly parts: readonly Part[]) {
    let bytes = 0;
    for (const part of parts) bytes += part.bytes;
    this.byteLength = bytes;
  }

  /** Writes the body at the start of `target` (at least `byteLength` long); returns the bytes written. */
  writeTo(target: Buffer): number {
    let at = 0;
    for (const part of this.parts) {
      if (!("items" in part)) {
        at += target.write(part.json, at, part.bytes, "utf8");
        continue;
      }
      target[at++] = 0x5b; // [
      for (let i = 0; i < part.items.length; i++) {
        if (i > 0) target[at++] = 0x2c; // ,
        at += target.write(part.items[i]!.json, at, part.items[i]!.bytes, "utf8");
      }
      target[at++] = 0x5d; // ]
    }
    return at;
  }

  get text(): string {
    return this.parts.map((part) => ("items" in part ? `[${part.items.map((item) => item.json).join(",")}]` : part.json)).join("");
  }
}

/** The JSON of `head` with `fields` added in front: the value `{...fields, ...head}`. */
export function jsonBody(head: Record<string, unknown>, fields: ReadonlyArray<readonly [key: string, json: Part]>): JsonBody {
  const rest = JSON.stringify(head);
  if (fields.length === 0) return new JsonBody([jsonText(rest)]);
  const parts: Part[] = [];
  fields.forEach(([key, json], i) => {
    parts.push(jsonText(`${i === 0 ? "{" : ","}${JSON.stringify(key)}:`), json);
  });
  parts.push(jsonText(rest === "{}" ? "}" : `,${rest.slice(1)}`));
  return new JsonBody(parts);
}

/**
 * The wire JSON of tool schemas, one fragment per schema object, for one wire format. A catalog hands out
 * fresh copies of its schemas each turn but keeps their `parameters` objects, so that object is the key
 * (name and description are compared, in case two tools share one).
 */
export class ToolJsonCache {
  private readonly cache = new WeakMap<object, { name: string; description: string; json: JsonText }>();
  constructor(private readonly wire: (tool: ToolSchema) => unknown) {}

  /** The JSON array of `tools` in wire form. */
  json(tools: readonly ToolSchema[]): JsonList {
    return jsonList(tools.map((tool) => this.one(tool)));
  }

  private one(tool: ToolSchema): JsonText {
    const hit = this.cache.get(tool.parameters);
    if (hit && hit.name === tool.name && hit.description === tool.description) return hit.json;
    const json = jsonText(JSON.stringify(this.wire(tool)));
    this.cache.set(tool.parameters, { name: tool.name, description: tool.description, json });
    return json;
  }
}

/**
 * The wire JSON of stored messages for one wire format: the items one message maps to, comma-separated
 * (left out when none). Stored messages never change, so one without files is serialised once; one with
 * files is mapped each time (its wire form depends on the model and on the files).
 */
export class MessageJsonCache {
  private readonly cache = new WeakMap<TranscriptMessage, JsonText>();

  /**
   * The JSON array of `messages`' wire items (`map` gives one message's; its model settings matter only
   * for files), after the `leading` items.
   */
  async json(messages: readonly TranscriptMessage[], map: (message: TranscriptMessage) => Promise<unknown[]>, leading: readonly JsonText[] = []): Promise<JsonList> {
    const parts = [...leading];
    for (const message of messages) {
      // A cached message is taken without an await: a long history costs no microtask per message.
      const json = this.cache.get(message) ?? (await this.mapped(message, map));
      if (json.bytes > 0) parts.push(json);
    }
    return jsonList(parts);
  }

  private async mapped(message: TranscriptMessage, map: (message: TranscriptMessage) => Promise<unknown[]>): Promise<JsonText> {
    const json = jsonText(JSON.stringify(await map(message)).slice(1, -1));
    if (!message.content.some((i) => i.type === "file")) this.cache.set(message, json);
    return json;
  }
}

const lastJsonCaches: Array<LastJsonCache<unknown>> = [];

/**
 * The JSON of one value that mostly stays the same between calls (a system message): `of(key)` serialises
 * `value(key)` again only when `key` changed since the last call.
 */
export class LastJsonCache<K> {
  private last: { key: K; json: JsonText } | undefined;
  constructor(private readonly value: (key: K) => unknown) {
    lastJsonCaches.push(this as LastJsonCache<unknown>);
  }

  of(key: K): JsonText {
    if (this.last?.key !== key) this.last = { key, json: jsonText(JSON.stringify(this.value(key))) };
    return this.last.json;
  }

  forget(): void {
    this.last = undefined;
  }
}

/** Drops what every LastJsonCache holds (with the body buffer, at a pause and before the snapshot). */
export function forgetLastJson(): void {
  for (const cache of lastJsonCaches) cache.forget();
}
