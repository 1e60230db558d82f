import { lazyArguments } from "@starling/protocol";
import { fileURLToPath } from "node:url";
import { z } from "zod";
import type { FileItem } from "@starling/protocol";
import { generatedStamp, writeGeneratedImage } from "../../media/generated-images.js";
import type { ImageInput } from "../../providers/image-types.js";
import { defineTool, type AnyTool } from "../define-tool.js";
import { ToolError } from "../errors.js";
import { jobArguments, jobOutput, jobWait } from "./job-tool.js";
import { loadMediaFile } from "./media-file.js";
import type { MediaJobs } from "./media-jobs.js";

export { GENERATED_DIR } from "../../media/generated-images.js";

// Module constants, so the runtime's JSON Schema cache (tool-runtime.ts) serves every session.
const generationParameters = lazyArguments(() => z.object({
    prompt: z.string().optional().describe("What to draw, or how to change the given images."),
    images: z.array(z.string()).max(8).optional().describe("Workspace paths of images to edit (optional)."),
    generation_id: z.string().optional().describe("A job id from an earlier call, to wait for its image instead of starting one."),
    ...jobArguments(),
  }));
const stopParameters = lazyArguments(() => z.object({ generation_id: z.string().min(1).describe("The generation_id to stop.") }));

/** `image_generation` and `image_generation_stop` through the session's image generator (`openai_image`). */
export function imageGenerationTools(jobs: MediaJobs): AnyTool[] {
  const tool = "image_generation";
  const idField = "generation_id";
  const generate = defineTool({
    name: tool,
    description:
      "Create an image from a text prompt, or edit images from the workspace (give their paths in images). The image is saved in the workspace under generated/ and shown to you; " +
      "to send it to the user put <attachment>its path</attachment> in your reply. Waits for the image by default; with return_immediate it returns generation_id at once.",
    parameters: generationParameters,
    readOnly: false,
    async execute(args, ctx) {
      const wait = jobWait(tool, idField, args, ctx.signal);
      if (args.generation_id?.trim()) return jobOutput(jobs, { ...wait, id: args.generation_id.trim() });
      if (!args.prompt?.trim()) throw new ToolError("invalid_arguments", "give prompt (what to draw) or generation_id (a job to wait for)");
      const generator = ctx.helpers?.imageGenerator();
      if (!generator) throw new ToolError("failed", "image_generation needs an openai_image model (session_defaults.image_generation_tool_model); none is configured.");
      const inputs: ImageInput[] = [];
      for (const path of args.images ?? []) {
        const loaded = await loadMediaFile(ctx, path, "image");
        if (loaded.problem) throw new ToolError("invalid_arguments", `${loaded.display}: ${loaded.problem}`);
        inputs.push({ data: await ctx.paths.readFile(fileURLToPath(loaded.file.uri)), mediaType: loaded.file.mediaType, name: loaded.file.name });
      }
      const prompt = args.prompt.trim();
      const id = jobs.start(tool, async (signal) => {
        const result = inputs.length ? await generator.edit({ prompt, images: inputs, signal }) : await generator.generate({ prompt, signal });
        const files: FileItem[] = [];
        const lines: string[] = [];
        const stamp = generatedStamp();
        for (const [i, image] of result.images.entries()) {
          if (image.kind === "url") {
            lines.push(`Image ${i + 1} is hosted at ${image.url} (not saved; download it with file_download_start to attach it).`);
            continue;
          }
          const saved = await writeGeneratedImage(ctx.workspace, image, stamp, i + 1);
          files.push(saved.file);
          lines.push(`Saved ${saved.path}. To send it to the user, include <attachment>${saved.path}</attachment> in your reply.`);
        }
        if (result.revisedPrompts.length) lines.push(`Revised prompt: ${result.revisedPrompts.join(" / ")}`);
        if (lines.length === 0) lines.push("The image model returned no image.");
        return { text: lines.join("\n"), files };
      });
      if (args.return_immediate) return JSON.stringify({ tool, status: "running", generation_id: id });
      return jobOutput(jobs, { ...wait, id });
    },
  });
  const stop = defineTool({
    name: "image_generation_stop",
    description: "Stop a running image_generation job.",
    parameters: stopParameters,
    readOnly: false,
    async execute(args) {
      jobs.stop(args.generation_id);
      return JSON.stringify({ tool: "media", status: "cancelled", generation_id: args.generation_id });
    },
  });
  return [generate, stop];
}
