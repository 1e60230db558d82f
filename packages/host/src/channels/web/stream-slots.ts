import { HttpError } from "./http-error.js";

/**
 * Open `GET …/events` streams a web channel serves at once. Each holds a socket, a log follower, a
 * heartbeat timer and, while its client does not read, up to a page of events (8; a message may be
 * 200,000 characters): without a cap, clients opening streams and never closing them hold memory
 * without bound.
 */
export const MAX_EVENT_STREAMS = 256;
/** Per conversation: a user's tabs and devices, and scripts following it, with room to spare. */
export const MAX_EVENT_STREAMS_PER_CONVERSATION = 16;

/** Counts open event streams; a slot is freed when its stream closes (by the client, an error or shutdown). */
export class StreamSlots {
  private open = 0;
  private readonly byConversation = new Map<string, number>();

  /** Takes a slot for a stream of `conversationId` (the function frees it, once), or throws the 429/503 naming the limit. */
  take(conversationId: string): () => void {
    const mine = this.byConversation.get(conversationId) ?? 0;
    if (mine >= MAX_EVENT_STREAMS_PER_CONVERSATION) {
      throw new HttpError(
        429,
        "too_many_streams",
        `${mine} event streams of conversation ${conversationId} are open, the most one conversation may have (MAX_EVENT_STREAMS_PER_CONVERSATION); close one (a tab, a script) or retry later`,
      );
    }
    if (this.open >= MAX_EVENT_STREAMS) {
      throw new HttpError(503, "too_many_streams", `${this.open} event streams are open on this channel, the most it serves (MAX_EVENT_STREAMS); close some or retry later`);
    }
    this.open++;
    this.byConversation.set(conversationId, mine + 1);
    let freed = false;
    return () => {
      if (freed) return;
      freed = true;
      this.open--;
      const left = (this.byConversation.get(conversationId) ?? 1) - 1;
      if (left) this.byConversation.set(conversationId, left);
      else this.byConversation.delete(conversationId);
    };
  }
}
