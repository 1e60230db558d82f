// Image counts the OpenAI-shaped fakes refuse, as the services do: OpenAI takes at most 500 images in
// one request (its vision guide's input limits; the wording of the refusal below is ours, the real one
// was not found), and OpenRouter forwards a Claude model's
// images and PDFs to Anthropic, whose limits (anthropic-image-limits.ts, PDF pages counted with the
// images) come back wrapped in its error shape.
import { dataUrlBase64, fetchDocuments, fetchImages, openRouterAnthropicError, openRouterClaudeRefusal, urlImage, type WireImage } from "./anthropic-image-limits.js";

export const OPENAI_MAX_IMAGES = 500;

/** The HTTP 400 body for a chat-completions or Responses request whose images the service refuses; null when it takes them. */
export async function openAIImageRefusal(body: Record<string, unknown>): Promise<Record<string, unknown> | null> {
  const images: WireImage[] = [];
  const documents: string[] = [];
  const documentUrls: string[] = [];
  collect(body["messages"] ?? body["input"], body["messages"] ? "messages" : "input", images, documents, documentUrls);
  const fetched = await fetchDocuments(documentUrls);
  if (typeof fetched === "string") return { error: { message: fetched, type: "invalid_request_error", param: null, code: null } };
  // Images given by URL: a Claude model's are fetched by Anthropic (its refusal wrapped by OpenRouter); others are only counted.
  const claude = typeof body["model"] === "string" && body["model"].startsWith("anthropic/claude-");
  const unfetched = claude ? await fetchImages(images) : null;
  if (unfetched) return openRouterAnthropicError(unfetched);
  const viaOpenRouter = openRouterClaudeRefusal(body["model"], images, [...documents, ...fetched]);
  if (viaOpenRouter) return viaOpenRouter;
  if (images.length <= OPENAI_MAX_IMAGES) return null;
  return { error: { message: `Too many images in request: ${images.length} > ${OPENAI_MAX_IMAGES}.`, type: "invalid_request_error", param: null, code: null } };
}

/**
 * Data-URL images anywhere in the body (chat `image_url: {url}` parts, Responses `input_image` parts) and
 * the base64 of data-URL PDFs (chat `file: {file_data}` parts, Responses `input_file` parts) into `documents`,
 * the URLs of PDFs given by URL (Responses `input_file` `file_url`) into `documentUrls`.
 */
function collect(node: unknown, path: string, into: WireImage[], documents: string[], documentUrls: string[]): void {
  if (Array.isArray(node)) {
    node.forEach((child, i) => collect(child, `${path}.${i}`, into, documents, documentUrls));
    return;
  }
  if (typeof node !== "object" || node === null) return;
  const record = node as Record<string, unknown>;
  const fileData = record["type"] === "file" ? (record["file"] as { file_data?: unknown } | undefined)?.file_data : record["type"] === "input_file" ? record["file_data"] : undefined;
  if (typeof fileData === "string" && fileData.startsWith("data:application/pdf")) {
    documents.push(fileData.slice(fileData.indexOf(",") + 1));
    return;
  }
  if (record["type"] === "input_file" && typeof record["file_url"] === "string") {
    documentUrls.push(record["file_url"]);
    return;
  }
  const url = record["type"] === "image_url" ? (record["image_url"] as { url?: unknown } | undefined)?.url : record["type"] === "input_image" ? record["image_url"] : undefined;
  const data = dataUrlBase64(url);
  if (data !== null) {
    into.push({ path, data });
    return;
  }
  const byUrl = urlImage(path, url);
  if (byUrl) {
    into.push(byUrl);
    return;
  }
  for (const [key, value] of Object.entries(record)) if (typeof value === "object") collect(value, `${path}.${key}`, into, documents, documentUrls);
}
