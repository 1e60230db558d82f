import { Message } from "vscode-jsonrpc/node.js";

/**
 * The ids of the client's requests taken and not yet answered. vscode-jsonrpc queues requests by id
 * (7 and "7" alike): a second request with an id still in flight would replace the first, which would
 * then never run nor be answered. The worker refuses the second instead.
 */
export class InFlightIds {
  private readonly ids = new Set<string>();

  /** Takes the id; false if a request with it is still in flight. */
  claim(id: string | number): boolean {
    const key = String(id);
    if (this.ids.has(key)) return false;
    this.ids.add(key);
    return true;
  }

  /** Frees the id of a response as it is written. */
  written(message: Message): void {
    if (Message.isResponse(message) && message.id !== null) this.ids.delete(String(message.id));
  }
}
