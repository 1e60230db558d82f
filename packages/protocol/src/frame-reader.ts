import type { Readable } from "node:stream";
import { AbstractMessageReader, Disposable, type DataCallback, type Message, type MessageReader } from "vscode-jsonrpc/node.js";
import { idOfPartialBody } from "./partial-frame-id.js";

const HEADER_END = Buffer.from("\r\n\r\n", "ascii");
/** Longer without an end of header is stray bytes (real headers are under 100 bytes). */
const MAX_HEADER_BYTES = 64 * 1024;
const HEADER_TAIL_BYTES = 256;
/**
 * The largest frame body a worker reads (64 MiB). The Starling host sends attachments as `file://` URIs
 * and message text of at most 1 MB (web; Telegram's 4096 characters); this leaves room for a `data:`
 * URL of a ~45 MB file from another client. A bigger frame is skipped as it streams in.
 */
export const WORKER_MAX_FRAME_BYTES = 64 * 1024 * 1024;

/** A frame whose body stopped arriving (see `stallMs`): dropped; `id` is the request's, when its first part names one. */
export class StalledFrameError extends Error {
  override readonly name = "StalledFrameError";
  constructor(
    readonly id: string | number | null,
    readonly receivedBytes: number,
    readonly declaredBytes: number,
    stallMs: number,
  ) {
    super(
      `a frame stopped arriving: ${receivedBytes} of its ${declaredBytes} declared bytes arrived, none for ${stallMs} ms; it is dropped (Content-Length counts the bytes of the UTF-8 body)`,
    );
  }
}

/** What a reader holds of a frame not complete yet. `declaredBytes` is null while its header is incomplete. */
export interface PartialFrame {
  receivedBytes: number;
  declaredBytes: number | null;
}

/**
 * Reads JSON-RPC frames (`Content-Length` header + UTF-8 JSON body) and hands each to the connection
 * synchronously, in the same `data` event that completed it. vscode-jsonrpc's `StreamMessageReader`
 * decodes each frame through a promise chain under a semaphore, so frames a worker wrote just before
 * exiting could still be undecoded when its stdout closed: the exit then rejected an answer that had
 * arrived (a `shutdown` answer, in 1 of 3 runs under load). Synchronous delivery also saves a few
 * promises per frame. `framesRead` counts what was delivered, `cancelsRead` the `$/cancelRequest`
 * notifications among them.
 */
export class FrameReader extends AbstractMessageReader implements MessageReader {
  private chunks: Buffer[] = [];
  private buffered = 0;
  /** Body length of the frame being read, once its header was parsed. */
  private bodyLength = -1;
  private callback: DataCallback | null = null;
  /** Bytes of an oversized frame's body still to be dropped as they arrive. */
  private skipping = 0;
  /** Bytes read so far: a stalled frame is one during whose wait this did not change. */
  private bytesSeen = 0;
  private stallTimer: NodeJS.Timeout | undefined;
  framesRead = 0;
  cancelsRead = 0;

  /**
   * `maxBodyBytes`: a frame with a longer body is skipped unread, with an error (default: no limit).
   * `stallMs`: a frame body of which no byte arrived for this long (while the stream was not paused) is
   * dropped with a `StalledFrameError`; bytes of it that come later are skipped as stray bytes before the
   * next header (default: waited for as long as it takes).
   */
  constructor(
    private readonly stream: Readable,
    private readonly maxBodyBytes = Infinity,
    private readonly stallMs = Infinity,
  ) {
    super();
  }

  /** The frame read part-way, if any (a frame over the limit being skipped does not count). */
  partial(): PartialFrame | null {
    if (this.skipping > 0 || this.buffered === 0) return null;
    return { receivedBytes: this.buffered, declaredBytes: this.bodyLength >= 0 ? this.bodyLength : null };
  }

  listen(callback: DataCallback): Disposable {
    this.callback = callback;
    const onData = (chunk: Buffer): void => this.onData(chunk);
    const onClose = (): void => this.fireClose();
    const onError = (err: Error): void => this.fireError(err);
    this.stream.on("data", onData);
    this.stream.on("close", onClose);
    this.stream.on("error", onError);
    return Disposable.create(() => {
      clearTimeout(this.stallTimer);
      this.callback = null;
      this.stream.off("data", onData);
      this.stream.off("close", onClose);
      this.stream.off("error", onError);
    });
  }

  private onData(chunk: Buffer): void {
    this.bytesSeen += chunk.byteLength;
    this.readFrames(chunk);
    this.watchForStall();
  }

  private readFrames(chunk: Buffer): void {
    if (this.skipping > 0) {
      if (chunk.byteLength <= this.skipping) {
        this.skipping -= chunk.byteLength;
        return;
      }
      chunk = chunk.subarray(this.skipping);
      this.skipping = 0;
    }
    this.chunks.push(chunk);
    this.buffered += chunk.byteLength;
    for (;;) {
      if (this.bodyLength < 0 && !this.readHeader()) return;
      if (this.bodyLength > this.maxBodyBytes) {
        this.fireError(
          new Error(`skipped a frame of ${this.bodyLength} bytes: over the limit of ${this.maxBodyBytes} bytes (send files as file:// URIs, not inline)`),
        );
        const dropped = Math.min(this.buffered, this.bodyLength);
        this.take(dropped);
        this.skipping = this.bodyLength - dropped;
        this.bodyLength = -1;
        if (this.skipping > 0) return;
        continue;
      }
      if (this.buffered < this.bodyLength) return;
      const body = this.take(this.bodyLength);
      this.bodyLength = -1;
      let message: Message;
      try {
        message = JSON.parse(body.toString("utf8")) as Message;
      } catch (err) {
        this.fireError(new Error(`a frame's body is not JSON (Content-Length counts the bytes of the UTF-8 body): ${(err as Error).message}`));
        continue;
      }
      this.framesRead++;
      if (isCancelRequest(message)) this.cancelsRead++;
      this.callback?.(message);
    }
  }

  private watchForStall(): void {
    clearTimeout(this.stallTimer);
    if (this.stallMs === Infinity || this.bodyLength < 0) return;
    const seen = this.bytesSeen;
    // Decided after the next poll phase: bytes that were ready while the event loop was busy are read first.
    this.stallTimer = setTimeout(() => setImmediate(() => this.stalled(seen)), this.stallMs);
    this.stallTimer.unref();
  }

  private stalled(seen: number): void {
    if (seen !== this.bytesSeen || this.bodyLength < 0) return;
    // Paused by its owner (a client not reading the worker's answers): the bytes wait in the pipe, unread.
    if (this.stream.isPaused()) return this.watchForStall();
    const body = this.take(this.buffered);
    const declared = this.bodyLength;
    this.bodyLength = -1;
    this.fireError(new StalledFrameError(idOfPartialBody(body.toString("utf8")), body.byteLength, declared, this.stallMs));
  }

  /**
   * Parses the next header if it is complete; a header without a valid Content-Length is skipped with
   * an error. After a wrong Content-Length (or a body sent without a header) the bytes left over run
   * into the next header: the last `Content-Length: N` in the block is used and the bytes before it
   * are skipped with an error, so one bad frame does not make every later frame unreadable.
   */
  private readHeader(): boolean {
    for (;;) {
      const all = this.chunks.length === 1 ? this.chunks[0]! : Buffer.concat(this.chunks);
      this.chunks = all.byteLength > 0 ? [all] : [];
      const end = all.indexOf(HEADER_END);
      if (end < 0) {
        if (all.byteLength > MAX_HEADER_BYTES) {
          // No header ends here: stray bytes. Keep the tail, where the next header may be starting.
          this.fireError(new Error(`skipped ${all.byteLength - HEADER_TAIL_BYTES} bytes that are not a frame header`));
          this.take(all.byteLength - HEADER_TAIL_BYTES);
        }
        return false;
      }
      const header = all.toString("latin1", 0, end);
      this.take(end + HEADER_END.byteLength);
      const match = [...header.matchAll(/Content-Length:[ \t]*(\d+)[ \t]*(?=\r\n|$)/gi)].at(-1);
      if (!match) {
        this.fireError(new Error(`a frame header has no Content-Length: ${JSON.stringify(header.slice(0, 200))}`));
        continue;
      }
      const start = match.index;
      if (start > 0 && header.slice(start - 2, start) !== "\r\n") {
        this.fireError(
          new Error(`skipped ${start} bytes before a frame header (was an earlier frame's Content-Length wrong? It counts the bytes of the UTF-8 body)`),
        );
      }
      this.bodyLength = Number(match[1]);
      return true;
    }
  }

  /** Removes and returns the first `n` buffered bytes. */
  private take(n: number): Buffer {
    const all = this.chunks.length === 1 ? this.chunks[0]! : Buffer.concat(this.chunks);
    const out = all.subarray(0, n);
    const rest = all.subarray(n);
    this.chunks = rest.byteLength > 0 ? [rest] : [];
    this.buffered = rest.byteLength;
    return out;
  }
}

/** A `$/cancelRequest` notification (vscode-jsonrpc consumes one for a running request itself). */
export function isCancelRequest(message: Message): boolean {
  return (message as { method?: unknown; id?: unknown }).method === "$/cancelRequest" && (message as { id?: unknown }).id === undefined;
}
