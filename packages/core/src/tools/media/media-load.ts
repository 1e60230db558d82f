import { lazyArguments } from "@starling/protocol";
import { z } from "zod";
import { defineTool, type AnyTool } from "../define-tool.js";
import { loadMediaFile, type LoadKind } from "./media-file.js";

const DESCRIPTIONS: Record<LoadKind, string> = {
  image:
    "Look at an image file from the workspace (png, jpeg, webp, gif): it is attached to the conversation so you can see it. Large images are scaled down. Load at most 3 images per batch of tool calls.",
  pdf: "Read a PDF file from the workspace: it is attached to the conversation (as the document itself for models that read PDFs, otherwise as its extracted text).",
  audio: "Listen to an audio file from the workspace (mp3, wav, m4a, ogg, flac): it is attached to the conversation.",
};

// Called once per kind at module load, so the builder is the same in every session (tool-runtime.ts caches by it).
function loadTool(kind: LoadKind): AnyTool {
  const parameters = lazyArguments(() => z.object({ path: z.string().min(1).describe(`Path of the ${kind === "pdf" ? "PDF" : kind} file in the workspace.`) }));
  return defineTool({
    name: `${kind}_load`,
    description: DESCRIPTIONS[kind],
    parameters,
    readOnly: true,
    async execute(args, ctx) {
      const loaded = await loadMediaFile(ctx, args.path, kind);
      const status = loaded.problem
        ? { status: "crashed", path: loaded.display, media_type: loaded.file.mediaType, reason: loaded.problem }
        : { status: "loaded", path: loaded.display, media_type: loaded.file.mediaType };
      // A crashed file is still attached: the normaliser shows the model why it cannot be used.
      return { content: JSON.stringify(status), files: [loaded.file], isError: loaded.problem !== null };
    },
  });
}

export const imageLoadTool = loadTool("image");
export const pdfLoadTool = loadTool("pdf");
export const audioLoadTool = loadTool("audio");
