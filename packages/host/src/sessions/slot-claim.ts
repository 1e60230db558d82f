import type pino from "pino";
import type { ChangeSignal, SlotState } from "./session-state.js";
import type { TurnSlots } from "./turn-slots.js";

/**
 * A session's claim on a global turn slot (`SlotState`: none, requested, held), a part of its runner's
 * state that only this class changes, called only by that runner.
 */
export class SlotClaim {
  private state: SlotState = { kind: "none" };

  constructor(
    private readonly sessionId: string,
    private readonly slots: TurnSlots,
    private readonly isStopped: () => boolean,
    private readonly changes: ChangeSignal,
    private readonly log: pino.Logger,
    /** Called when a requested slot is granted (the runner hands off then). */
    private readonly granted: () => void,
  ) {}

  /** A turn slot is held now. */
  get held(): boolean {
    return this.state.kind === "held";
  }

  /** No slot held or requested. */
  get unclaimed(): boolean {
    return this.state.kind === "none";
  }

  /** A turn was started under the slot held now. */
  get used(): boolean {
    return this.state.kind === "held" && this.state.used;
  }

  markUsed(): void {
    if (this.state.kind === "held") this.state.used = true;
  }

  request(): void {
    if (this.state.kind !== "none") return;
    this.state = { kind: "requested" };
    const waits = !this.slots.hasCapacity();
    this.slots.request(this.sessionId, (lease) => {
      if (this.isStopped()) {
        this.state = { kind: "none" };
        return lease.release();
      }
      this.state = { kind: "held", lease, used: false };
      this.changes.fire();
      this.log.debug("turn slot granted");
      this.granted();
    });
    // Tells why a session's input is not answered yet (and gives tests a point to check that nothing ran meanwhile).
    if (waits && this.state.kind === "requested") this.log.debug({ position: this.slots.position(this.sessionId), held: this.slots.held }, "waiting for a turn slot");
  }

  release(): void {
    const slot = this.state;
    if (slot.kind !== "held") return;
    this.state = { kind: "none" };
    slot.lease.release();
    this.changes.fire();
    this.log.debug("turn slot released");
  }
}
