import type { Readable } from "node:stream";
import type { Message, MessageStrategy } from "vscode-jsonrpc/node.js";
import type { FrameReader } from "./frame-reader.js";

/**
 * Knows when everything a worker wrote to its stdout has been handled by the connection. A child's
 * `exit` can come before the last frames on its stdout were read, and vscode-jsonrpc handles read
 * frames one per `setImmediate`: disposing the connection at `exit` rejected an answer that had
 * already arrived. The reader counts frames read; the connection's message strategy counts frames
 * handled.
 */
export class ReadDrain {
  private handled = 0;
  private waiter: (() => void) | null = null;

  constructor(private readonly reader: FrameReader) {}

  /** Handles each frame (passed to `createMessageConnection` as `messageStrategy`). */
  readonly strategy: MessageStrategy = {
    handleMessage: (message: Message, next: (message: Message) => void) => {
      try {
        next(message);
      } finally {
        this.handled++;
        if (this.handled >= this.reader.framesRead) this.waiter?.();
      }
    },
  };

  /**
   * Resolves once `stream` has closed and every frame read from it was handled, or after `limitMs`
   * (a grandchild that inherited the stream keeps it open; a request the worker cancelled while it
   * was queued is dropped unhandled).
   */
  drained(stream: Readable | null, limitMs: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(done, limitMs);
      function done(): void {
        clearTimeout(timer);
        resolve();
      }
      const check = (): void => {
        if (this.handled >= this.reader.framesRead) done();
        else this.waiter = done;
      };
      if (!stream || stream.closed || stream.destroyed) check();
      else stream.once("close", check);
    });
  }
}
