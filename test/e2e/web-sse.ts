// Reads the web channel's SSE stream (`GET …/events`) into events; used by the e2e tests and the bench.

export interface SseEvent {
  /** `message`, `progress`, `delta` (or undefined when the block names none). */
  type: string | undefined;
  id: string | undefined;
  data: string;
}

/** The events of an SSE body, as they arrive (blocks without data, such as pings, are skipped). */
export async function* sseEvents(body: AsyncIterable<Uint8Array>): AsyncGenerator<SseEvent> {
  const decoder = new TextDecoder();
  let buffer = "";
  for await (const chunk of body) {
    buffer += decoder.decode(chunk, { stream: true });
    let cut;
    while ((cut = buffer.indexOf("\n\n")) >= 0) {
      const lines = buffer.slice(0, cut).split("\n");
      buffer = buffer.slice(cut + 2);
      const data = lines.filter((l) => l.startsWith("data: ")).map((l) => l.slice(6)).join("");
      if (!data) continue;
      yield { type: lines.find((l) => l.startsWith("event: "))?.slice(7), id: lines.find((l) => l.startsWith("id: "))?.slice(4), data };
    }
  }
}
