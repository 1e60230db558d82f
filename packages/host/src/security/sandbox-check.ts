import { probeBubblewrap } from "@starling/protocol";

/**
 * Host start with `sandbox.mode: "bubblewrap"`: bwrap must really work here, or the host refuses to
 * start with the reason. Never falls back to running tools unsandboxed (Stellaclaw did, silently).
 */
export async function requireWorkingSandbox(mode: string, binary: string, network: boolean): Promise<void> {
  if (mode !== "bubblewrap") return;
  const probe = await probeBubblewrap(binary, { network });
  if (!probe.ok) {
    throw new Error(
      `sandbox.mode is "bubblewrap" but the sandbox cannot start: ${probe.problem}. ` +
        `Fix that, or set sandbox.mode to "subprocess" (tools then run as your user; see docs/SECURITY.md).`,
    );
  }
}

/** `/sandbox bubblewrap`: null when bwrap works, else the reply that says why not and what to do. */
export async function bubblewrapUnavailable(binary: string, network: boolean): Promise<string | null> {
  const probe = await probeBubblewrap(binary, { network });
  return probe.ok ? null : `The bubblewrap sandbox cannot start here: ${probe.problem}. The sandbox is unchanged.`;
}
