/** One server-sent event: its `event:` name (default "message") and its joined `data:` lines. */
export interface SseEvent {
  event: string;
  data: string;
}

/**
 * Incremental parser for `text/event-stream` (WHATWG rules): lines end in LF, CRLF or CR (also
 * when the CR and LF arrive in different chunks), `:` lines are comments, several `data:` lines
 * join with "\n", a blank line ends an event. Events with no data are skipped.
 */
export class SseParser {
  private readonly decoder = new TextDecoder();
  private buffer = "";
  private eventName = "";
  private dataLines: string[] = [];

  /** Feeds bytes (or text); returns the events completed by them. */
  push(chunk: Uint8Array | string): SseEvent[] {
    this.buffer += typeof chunk === "string" ? chunk : this.decoder.decode(chunk, { stream: true });
    return this.drain(false);
  }

  /** Flushes the end of the stream; an event not ended by a blank line still counts. */
  end(): SseEvent[] {
    this.buffer += this.decoder.decode();
    const events = this.drain(true);
    const last = this.dispatch();
    if (last) events.push(last);
    return events;
  }

  private drain(final: boolean): SseEvent[] {
    const events: SseEvent[] = [];
    let start = 0;
    // Most streams never use CR: remember "no CR left" instead of rescanning for every line.
    let cr = this.buffer.indexOf("\r");
    for (;;) {
      const lf = this.buffer.indexOf("\n", start);
      if (cr !== -1 && cr < start) cr = this.buffer.indexOf("\r", start);
      let end: number;
      let next: number;
      if (cr !== -1 && (lf === -1 || cr < lf)) {
        // A CR at the very end may be the first half of a CRLF split across chunks.
        if (cr === this.buffer.length - 1 && !final) break;
        end = cr;
        next = this.buffer[cr + 1] === "\n" ? cr + 2 : cr + 1;
      } else if (lf !== -1) {
        end = lf;
        next = lf + 1;
      } else {
        if (final && start < this.buffer.length) {
          this.line(this.buffer.slice(start));
          start = this.buffer.length;
        }
        break;
      }
      const event = this.line(this.buffer.slice(start, end));
      if (event) events.push(event);
      start = next;
    }
    this.buffer = this.buffer.slice(start);
    return events;
  }

  private line(line: string): SseEvent | undefined {
    if (line === "") return this.dispatch();
    if (line.startsWith(":")) return undefined;
    const colon = line.indexOf(":");
    const field = colon === -1 ? line : line.slice(0, colon);
    let value = colon === -1 ? "" : line.slice(colon + 1);
    if (value.startsWith(" ")) value = value.slice(1);
    if (field === "data") this.dataLines.push(value);
    else if (field === "event") this.eventName = value;
    return undefined;
  }

  private dispatch(): SseEvent | undefined {
    const lines = this.dataLines;
    const event = this.eventName || "message";
    this.dataLines = [];
    this.eventName = "";
    return lines.length > 0 ? { event, data: lines.join("\n") } : undefined;
  }
}
