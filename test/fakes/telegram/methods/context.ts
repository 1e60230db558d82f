import type { Params } from "../params.js";
import type { FakeState } from "../state.js";

export interface MethodContext {
  state: FakeState;
  params: Params;
  /** Aborted when the client goes away (used by long polling). */
  signal: AbortSignal;
}

/** A Bot API method: returns the `result`, or throws an ApiError. */
export type MethodHandler = (context: MethodContext) => unknown;
