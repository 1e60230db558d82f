import { z } from "zod";
import type { ToolOutput } from "../define-tool.js";
import { ToolError } from "../errors.js";
import type { MediaJobs } from "./media-jobs.js";

/** Waiting by default, unlike the reference (which returns a job id first): one call usually gives the answer. */
export const DEFAULT_JOB_WAIT_SECONDS = 120;

/** The job tools' shared arguments, made inside their lazyArguments builders (so the snapshot does not hold them). */
export const jobArguments = () => ({
  return_immediate: z.boolean().optional().describe("Return a job id at once instead of waiting for the answer (default false)."),
  wait_timeout_seconds: z
    .number()
    .min(0)
    .max(600)
    .optional()
    .describe(`Seconds to wait for the answer (default ${DEFAULT_JOB_WAIT_SECONDS}); on timeout the job keeps running unless on_timeout is kill.`),
  on_timeout: z
    .string()
    .transform((s) => s.toLowerCase())
    .pipe(z.enum(["continue", "kill", "cancel"], { error: "on_timeout must be continue or kill" }))
    .optional()
    .describe("continue (default) or kill: what happens to the job when the wait times out."),
});

export interface JobWait {
  tool: string;
  idField: string;
  id: string;
  seconds: number;
  kill: boolean;
  signal: AbortSignal;
}

/** How a call waits, from its job arguments. */
export function jobWait(
  tool: string,
  idField: string,
  args: { wait_timeout_seconds?: number; on_timeout?: string },
  signal: AbortSignal,
): Omit<JobWait, "id"> {
  const kill = args.on_timeout === "kill" || args.on_timeout === "cancel";
  return { tool, idField, seconds: args.wait_timeout_seconds ?? DEFAULT_JOB_WAIT_SECONDS, kill, signal };
}

/** Waits for a job and turns its state into the tool's result (answer text plus any files). */
export async function jobOutput(jobs: MediaJobs, w: JobWait): Promise<ToolOutput> {
  const state = await jobs.wait(w.id, w.seconds * 1000, w.signal);
  const snapshot = (status: string, extra: Record<string, unknown> = {}) => JSON.stringify({ tool: w.tool, status, [w.idField]: w.id, ...extra });
  if (!state) {
    throw new ToolError("invalid_arguments", `unknown media job id ${w.id}: no job of this session has it (an ended job's answer is kept for 7 days). Start it again.`);
  }
  switch (state.state) {
    case "completed":
      return { content: state.result.text || snapshot("completed"), files: state.result.files };
    case "failed":
      return { content: snapshot("failed", { error: state.error }), isError: true };
    case "cancelled":
      return { content: snapshot("cancelled") };
    case "interrupted":
      return { content: snapshot("interrupted", { note: `the job keeps running; call ${w.tool} with ${w.idField} to get its answer` }) };
    case "running":
      if (w.kill) {
        jobs.stop(w.id);
        return { content: snapshot("cancelled") };
      }
      return { content: snapshot("running", { note: `call ${w.tool} with ${w.idField} to wait for the answer` }) };
  }
}
