import { lazyArguments } from "@starling/protocol";
import { z } from "zod";
import type { TranscriptItem } from "@starling/protocol";
import { normalizeMessages } from "../../media/normalize.js";
import { defineTool, type AnyTool } from "../define-tool.js";
import { ToolError } from "../errors.js";
import { jobArguments, jobOutput, jobWait } from "./job-tool.js";
import { loadMediaFile, type LoadKind } from "./media-file.js";
import type { MediaJobs } from "./media-jobs.js";

const INSTRUCTION = "Answer concisely, using only what the attached file shows. If the file cannot be read, say so.";

function analysisSchema(kind: LoadKind) {
  const tool = `${kind}_analysis`;
  const idField = `${kind}_id`;
  const noun = kind === "pdf" ? "PDF" : kind;
  return z.object({
  path: z.string().optional().describe(`The ${noun} file in the workspace (to start a new question).`),
  question: z.string().optional().describe("What to ask about the file (default: Analyze this file.)."),
  [idField]: z.string().optional().describe(`A job id from an earlier ${tool} call, to wait for its answer instead of starting one.`),
  ...jobArguments(),
    });
}

function stopSchema(kind: LoadKind) {
  const idField = `${kind}_id`;
  return z.object({ [idField]: z.string().min(1).describe(`The ${idField} to stop.`) });
}

type AnalysisParameters = { analysis: () => ReturnType<typeof analysisSchema>; stop: () => ReturnType<typeof stopSchema> };

/** Made once per kind (not per session), so the runtime's JSON Schema cache (tool-runtime.ts) serves every session. */
const parametersByKind = new Map<LoadKind, AnalysisParameters>();

function analysisParameters(kind: LoadKind): AnalysisParameters {
  let schemas = parametersByKind.get(kind);
  if (!schemas) {
    schemas = { analysis: lazyArguments(() => analysisSchema(kind)), stop: lazyArguments(() => stopSchema(kind)) };
    parametersByKind.set(kind, schemas);
  }
  return schemas;
}

/** `<kind>_analysis` and `<kind>_analysis_stop`: ask the configured helper model about a workspace file. */
export function analysisTools(kind: LoadKind, jobs: MediaJobs): AnyTool[] {
  const tool = `${kind}_analysis`;
  const idField = `${kind}_id`;
  const noun = kind === "pdf" ? "PDF" : kind;
  const schemas = analysisParameters(kind);
  const analysis = defineTool({
    name: tool,
    description:
      `Ask a helper model that can read ${noun} files a question about one (${kind === "image" ? "describe, read text, compare details" : kind === "pdf" ? "summarise, find facts, read tables" : "transcribe, describe"}). ` +
      `Waits for the answer by default; with return_immediate it returns ${idField} at once, and calling again with ${idField} waits for the answer. Stop a job with ${tool}_stop.`,
    parameters: schemas.analysis,
    readOnly: false,
    async execute(args, ctx) {
      const wait = jobWait(tool, idField, args, ctx.signal);
      const existing = (args as Record<string, unknown>)[idField];
      if (typeof existing === "string" && existing.trim() !== "") return jobOutput(jobs, { ...wait, id: existing.trim() });
      if (!args.path) throw new ToolError("invalid_arguments", `give path (a ${noun} file to analyse) or ${idField} (a job to wait for)`);
      if (!ctx.helpers) throw new ToolError("failed", `${tool} needs a helper model (session_defaults.${kind}_tool_model); none is configured for this session.`);
      const provider = ctx.helpers.chat(kind);
      const loaded = await loadMediaFile(ctx, args.path, kind);
      const prompt = `${args.question?.trim() || "Analyze this file."}\n\n${INSTRUCTION}`;
      const id = jobs.start(kind, async (signal) => {
        const content: TranscriptItem[] = [{ type: "text", text: prompt }, loaded.file];
        const messages = await normalizeMessages(provider.config, [{ index: 0, role: "user", time: new Date().toISOString(), content }], (abs) => ctx.paths.open(abs, "r"));
        const response = await provider.complete({ system: "", messages, tools: [] }, { signal });
        const text = response.content.flatMap((i) => (i.type === "text" && i.text.trim() ? [i.text.trim()] : [])).join("\n");
        const files = response.content.flatMap((i) => (i.type === "file" ? [i] : [])).slice(0, 1);
        return { text, files };
      });
      if (args.return_immediate) return JSON.stringify({ tool, status: "running", [idField]: id });
      return jobOutput(jobs, { ...wait, id });
    },
  });
  const stop = defineTool({
    name: `${tool}_stop`,
    description: `Stop a running ${tool} job.`,
    parameters: schemas.stop,
    readOnly: false,
    async execute(args) {
      const id = String((args as Record<string, unknown>)[idField]);
      jobs.stop(id);
      return JSON.stringify({ tool: "media", status: "cancelled", [idField]: id });
    },
  });
  return [analysis, stop];
}
