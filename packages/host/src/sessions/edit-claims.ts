/**
 * Waiting inbound items an edit is replacing (conversations/message-edits.ts). While a claim is held the
 * item's session does not hand it off; once released, the runner hands off what is stored then (the
 * edited item). The supervisor refuses a claim while the item is being handed off: the worker may have
 * it already, so the edit becomes a new input instead.
 */
export class EditClaims {
  private readonly held = new Map<string, Promise<void>>();

  /** Claims `messageId`; the returned function releases it (call it once the edit's commit settled). */
  claim(messageId: string): () => void {
    let release!: () => void;
    const done = new Promise<void>((resolve) => (release = resolve));
    const previous = this.held.get(messageId);
    const chained = previous ? Promise.all([previous, done]).then(() => undefined) : done;
    this.held.set(messageId, chained);
    void chained.then(() => {
      if (this.held.get(messageId) === chained) this.held.delete(messageId);
    });
    return release;
  }

  isHeld(messageId: string): boolean {
    return this.held.has(messageId);
  }

  /** Resolves once no edit holds `messageId`. */
  async settled(messageId: string): Promise<void> {
    for (let claim = this.held.get(messageId); claim; claim = this.held.get(messageId)) await claim;
  }
}
