import { createRequire } from "node:module";
import type { FileItem, ModelConfig, TranscriptMessage } from "@starling/protocol";
import { mediaKind, mediaTypeOf } from "../providers/file-parts.js";
import { pdfTextSent } from "../media/normalize.js";
import { providerCountsPdfPages } from "../media/provider-image-limits.js";
import { fileTokenCounter, type FileTokenCounter } from "./image-tokens.js";

/** Characters per token of the heuristic estimate (English prose; code and other scripts run denser). */
export const CHARS_PER_TOKEN = 4;
/** Framing tokens per message (role and separators of the chat format). */
const MESSAGE_OVERHEAD = 4;

/** Counts the tokens a message takes in the model's context. */
export interface TokenEstimator {
  /** `heuristic`, or the tokenizer encoding (`o200k_base`, `cl100k_base`). */
  readonly name: string;
  messageTokens(message: TranscriptMessage): number;
  /** Tokens of one text (not cached: callers cache what they count repeatedly). */
  textTokens(text: string): number;
}

type CountText = (text: string) => number;

/** The text a file was sent to the model as (pdfTextSent), if known. */
type SentText = (file: FileItem) => string | undefined;

/**
 * An estimator over a text counter: texts, tool results and tool calls (name + arguments) counted,
 * files per `files` or, a PDF sent as its text (`sentText`), that text; cached per message object,
 * except a message with a PDF whose text is not known yet (it may be once the PDF is normalised).
 */
function estimatorOf(name: string, count: CountText, files: FileTokenCounter, sentText?: SentText): TokenEstimator {
  const cache = new WeakMap<TranscriptMessage, number>();
  return {
    name,
    messageTokens(message) {
      const cached = cache.get(message);
      if (cached !== undefined) return cached;
      let tokens = MESSAGE_OVERHEAD;
      let final = true;
      for (const item of message.content) {
        if (item.type === "file" && sentText && message.role !== "assistant" && mediaKind(mediaTypeOf(item)) === "pdf") {
          const text = sentText(item);
          tokens += text === undefined ? files(item) : count(text);
          if (text === undefined) final = false;
          continue;
        }
        if (item.type === "text") tokens += count(item.text);
        else if (item.type === "tool_result") tokens += count(item.content);
        else if (item.type === "tool_call") tokens += count(item.name) + count(item.arguments);
        // Opaque ciphertext (codex reasoning handed back): its length is all there is to go by.
        else if (item.type === "reasoning") tokens += heuristicCount(item.encryptedContent) + count(item.summary.join("\n"));
        else tokens += files(item);
      }
      if (final) cache.set(message, tokens);
      return tokens;
    },
    textTokens: (text) => count(text),
  };
}

const heuristicCount: CountText = (text) => Math.ceil(text.length / CHARS_PER_TOKEN);

/** ~4 characters per token, 256 per file: no tokenizer, for models with none configured and for the pre-check. */
export const heuristicEstimator: TokenEstimator = estimatorOf("heuristic", heuristicCount, () => 256);

const heuristicByConfig = new WeakMap<ModelConfig, TokenEstimator>();

/** The heuristic estimator that also counts this model's PDFs sent as text (pdfTextSent): the pre-check of compaction. */
export function heuristicEstimatorFor(config: ModelConfig): TokenEstimator {
  let estimator = heuristicByConfig.get(config);
  if (!estimator) heuristicByConfig.set(config, (estimator = estimatorOf("heuristic", heuristicCount, () => 256, pdfTextLookup(config))));
  return estimator;
}

/**
 * The lookup of this model's PDFs sent as text, or undefined when it never sends one so (it takes PDFs,
 * and its provider does not count their pages): then its PDF messages stay cached as files.
 */
function pdfTextLookup(config: ModelConfig): SentText | undefined {
  if (config.capabilities.includes("pdf_in") && !providerCountsPdfPages(config)) return undefined;
  return (file) => pdfTextSent(config, file);
}

export function estimateTokens(messages: readonly TranscriptMessage[], estimator: TokenEstimator = heuristicEstimator): number {
  return messages.reduce((sum, m) => sum + estimator.messageTokens(m), 0);
}

/**
 * The tokenizer encoding of an OpenAI-family model name (also as `openai/<name>` or with
 * `:free`), or undefined for other families. GPT-4o, 4.1, 5 and the o-series use o200k_base;
 * GPT-4 and 3.5 use cl100k_base.
 */
export function openAIEncoding(modelName: string): "o200k_base" | "cl100k_base" | undefined {
  const name = (modelName.split("/").at(-1) ?? modelName).replace(/:free$/, "").toLowerCase();
  if (/^(gpt-4o|gpt-4\.1|gpt-4\.5|gpt-5|gpt-oss|o\d|chatgpt-4o|codex)/.test(name)) return "o200k_base";
  if (/^(gpt-4|gpt-3\.5|text-embedding-3|text-embedding-ada)/.test(name)) return "cl100k_base";
  return undefined;
}

const require = createRequire(import.meta.url);
const encoders = new Map<string, CountText>();

/** gpt-tokenizer's counter for an encoding, loaded on first use (it costs ~0.5 s and ~60 MB, so only compaction loads it). */
function tokenizerCount(encoding: "o200k_base" | "cl100k_base"): CountText {
  let count = encoders.get(encoding);
  if (!count) {
    const module = require(`gpt-tokenizer/cjs/encoding/${encoding}`) as { countTokens: (text: string) => number };
    count = (text) => (text === "" ? 0 : module.countTokens(text));
    encoders.set(encoding, count);
  }
  return count;
}

const byConfig = new WeakMap<ModelConfig, TokenEstimator>();

/**
 * The estimator `token_estimator_type` asks for. `local` (the default) on an OpenAI-family model:
 * the model's real tokenizer (gpt-tokenizer), loaded lazily on the first count. Other models,
 * and `hugging_face` (Starling does not download tokenizers), get the heuristic (~4 characters
 * per token). Files are counted per `multimodal_estimator.image` in both cases.
 */
export function tokenEstimatorFor(config: ModelConfig): TokenEstimator {
  let estimator = byConfig.get(config);
  if (estimator) return estimator;
  const files = fileTokenCounter(config);
  const sent = pdfTextLookup(config);
  const encoding = config.token_estimator_type === "hugging_face" ? undefined : openAIEncoding(config.model_name);
  if (encoding) {
    let count: CountText | undefined;
    estimator = estimatorOf(encoding, (text) => (count ??= tokenizerCount(encoding))(text), files, sent);
  } else {
    estimator = estimatorOf("heuristic", heuristicCount, files, sent);
  }
  byConfig.set(config, estimator);
  return estimator;
}
