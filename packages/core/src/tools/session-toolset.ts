import { isDeepStrictEqual } from "node:util";
import { sessionFolderName, type InitializeParams, type ModelCapability, type ModelConfig } from "@starling/protocol";
import { createHelperModels, type HelperModels } from "../providers/helper-models.js";
import type { HttpProviderOptions } from "../providers/http-chat-provider.js";
import { skillLoadTool } from "../skills/skill-load.js";
import { builtinTools } from "./builtin-tools.js";
import type { AnyTool } from "./define-tool.js";
import type { BackgroundWork } from "./types.js";
import { downloadTools } from "./downloads/download-tools.js";
import { Downloads } from "./downloads/downloads.js";
import { imageGenerationTools } from "./media/image-generation.js";
import { analysisTools } from "./media/media-analysis.js";
import { MediaJobStore } from "./media/media-job-store.js";
import { MediaJobs } from "./media/media-jobs.js";
import { audioLoadTool, imageLoadTool, pdfLoadTool } from "./media/media-load.js";
import type { AddressPolicy } from "./web/address-policy.js";
import { webFetchTool } from "./web/web-fetch.js";
import { webSearchTool } from "./web/web-search.js";

export interface SessionToolsetInput {
  workspace: string;
  sessionId: string;
  model: ModelConfig;
  /** `initialize.webPrivateNetworks` (config `tools.web_private_networks`). */
  webPrivateNetworks?: boolean;
  helpers?: HelperModels;
}

export interface SessionToolset {
  tools: AnyTool[];
  network: AddressPolicy;
  helpers?: HelperModels;
  downloads: Downloads;
  jobs: MediaJobs;
}

/**
 * ToolRuntime options for a worker session: its catalog, address policy and helper models (built
 * from `initialize.helperModels`, keys read from `env`).
 */
export function sessionToolOptions(
  init: InitializeParams,
  env: NodeJS.ProcessEnv,
  providerOptions?: HttpProviderOptions,
): Pick<SessionToolset, "tools" | "network" | "helpers"> & { background: BackgroundWork[] } {
  const helpers = createHelperModels(init.model, init.helperModels, env, providerOptions);
  const { tools, network, downloads, jobs } = sessionToolset({ ...init, helpers });
  return { tools, network, helpers, background: [downloads, jobs] };
}

const MEDIA = [
  { kind: "image", capability: "image_in", load: imageLoadTool },
  { kind: "pdf", capability: "pdf_in", load: pdfLoadTool },
  { kind: "audio", capability: "audio_in", load: audioLoadTool },
] as const satisfies readonly { kind: "image" | "pdf" | "audio"; capability: ModelCapability; load: AnyTool }[];

/**
 * The catalog of a session (reference §3.2): files and shell, web_fetch, downloads and skill_load always;
 * web_search when the model has `web_search` or a search model is configured; per media kind either
 * `<kind>_load` (the session's own model reads it) or `<kind>_analysis` + `<kind>_analysis_stop` (a helper
 * model with that capability is configured); image generation when an image model is available.
 * Starling adds `pdf_load` for models without `pdf_in` too: they get the PDF's extracted text.
 */
export function sessionToolset(input: SessionToolsetInput): SessionToolset {
  const downloads = new Downloads(input.workspace, input.sessionId);
  const jobs = new MediaJobs(new MediaJobStore(input.workspace, sessionFolderName(input.sessionId)), input.workspace);
  const caps = new Set(input.model.capabilities);
  const tools: AnyTool[] = [...builtinTools(), webFetchTool, ...downloadTools(downloads), skillLoadTool];
  if (caps.has("web_search") || input.helpers?.config("search")) tools.push(webSearchTool);
  for (const media of MEDIA) {
    const helper = input.helpers?.config(media.kind);
    const external = helper !== undefined && !isDeepStrictEqual(helper, input.model);
    if (external) {
      if (helper.capabilities.includes(media.capability)) tools.push(...analysisTools(media.kind, jobs));
    } else if (caps.has(media.capability) || media.kind === "pdf") {
      tools.push(media.load);
    }
  }
  if (canGenerate(input.helpers)) tools.push(...imageGenerationTools(jobs));
  return { tools, network: { allowPrivate: input.webPrivateNetworks ?? false }, helpers: input.helpers, downloads, jobs };
}

/** An image model is configured and can be built (a misconfigured one leaves the tool out). */
function canGenerate(helpers: HelperModels | undefined): boolean {
  try {
    return helpers?.imageGenerator() !== undefined;
  } catch {
    return false;
  }
}
