import type { Readable } from "node:stream";
import type { Message, MessageStrategy } from "vscode-jsonrpc/node.js";
import { isCancelRequest, type FrameReader } from "./frame-reader.js";

/**
 * Knows when everything a worker wrote to its stdout has been handled by the connection. A child's
 * `exit` can come before the last frames on its stdout were read, and vscode-jsonrpc handles read
 * frames one per `setImmediate`: disposing the connection at `exit` rejected an answer that had
 * already arrived. The reader counts frames read; the connection's message strategy counts frames
 * handled. `$/cancelRequest` notifications are left out of both: vscode-jsonrpc consumes one that
 * cancels a request being served without passing it to the strategy, so counting it made every exit
 * after a cancelled `host/coordinate` (a killed agent's subagent_join) wait the whole drain limit.
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
        if (!isCancelRequest(message)) this.handled++;
        if (this.allHandled()) this.waiter?.();
      }
    },
  };

  private allHandled(): boolean {
    return this.handled >= this.reader.framesRead - this.reader.cancelsRead;
  }

  /**
   * Resolves once `stream` has closed and every frame read from it was handled (true), or after `limitMs`
   * (false: a grandchild that inherited the stream keeps it open; a request the worker cancelled while
   * it was queued is dropped unhandled).
   */
  drained(stream: Readable | null, limitMs: number): Promise<boolean> {
    return new Promise((resolve) => {
      const timer = setTimeout(() => done(false), limitMs);
      function done(complete: boolean): void {
        clearTimeout(timer);
        resolve(complete);
      }
      const check = (): void => {
        if (this.allHandled()) done(true);
        else this.waiter = () => done(true);
      };
      if (!stream || stream.closed || stream.destroyed) check();
      else stream.once("close", check);
    });
  }
}
