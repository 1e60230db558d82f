import { mkdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import type { FileItem } from "@starling/protocol";
import type { ToolOutput } from "../tools/define-tool.js";

/** Where files an MCP tool returns (images, audio, blobs) are saved, relative to the workspace. */
export const MCP_FILES_DIR = join(".output", "mcp");

/** The content blocks of an MCP `CallToolResult` Starling understands; others are named, not dropped silently. */
export type McpContentBlock =
  | { type: "text"; text: string }
  | { type: "image" | "audio"; data: string; mimeType: string }
  | { type: "resource_link"; uri: string; name?: string; mimeType?: string }
  | { type: "resource"; resource: { uri: string; mimeType?: string; text?: string; blob?: string } }
  | { type: string; [key: string]: unknown };

export interface McpCallResult {
  content?: McpContentBlock[];
  structuredContent?: Record<string, unknown>;
  isError?: boolean;
}

const EXTENSIONS: Record<string, string> = {
  "image/png": "png",
  "image/jpeg": "jpg",
  "image/gif": "gif",
  "image/webp": "webp",
  "audio/wav": "wav",
  "audio/mpeg": "mp3",
  "audio/ogg": "ogg",
  "application/pdf": "pdf",
};

/**
 * An MCP tool result as a Starling tool output: text blocks joined; images and audio saved under
 * `.output/mcp/` and returned as file items (the normal media path shows them to the model); embedded
 * resources as text or a saved file; `structuredContent` as JSON when there is no text; `isError` kept.
 */
export async function mapMcpResult(result: McpCallResult, workspace: string, callId: string, toolName: string): Promise<ToolOutput> {
  const parts: string[] = [];
  const files: FileItem[] = [];
  const saved: string[] = [];
  const save = async (data: string, mimeType: string | undefined): Promise<{ relative: string; file: FileItem }> => {
    const ext = (mimeType && EXTENSIONS[mimeType]) ?? "bin";
    const name = `${callId.replace(/[^A-Za-z0-9_-]/g, "_")}-${files.length + saved.length + 1}.${ext}`;
    const dir = join(workspace, MCP_FILES_DIR);
    await mkdir(dir, { recursive: true });
    await writeFile(join(dir, name), Buffer.from(data, "base64"));
    const relative = join(MCP_FILES_DIR, name);
    return { relative, file: { type: "file", uri: pathToFileURL(join(dir, name)).href, name, ...(mimeType ? { mediaType: mimeType } : {}) } };
  };
  for (const block of result.content ?? []) {
    if (block.type === "text" && typeof block.text === "string") parts.push(block.text);
    else if ((block.type === "image" || block.type === "audio") && typeof block.data === "string") {
      const { relative, file } = await save(block.data, typeof block.mimeType === "string" ? block.mimeType : undefined);
      files.push(file);
      parts.push(`[${block.type} saved as ${relative}]`);
    } else if (block.type === "resource_link" && typeof block.uri === "string") {
      parts.push(`[resource link: ${block.uri}${typeof block.name === "string" ? ` (${block.name})` : ""}]`);
    } else if (block.type === "resource" && block.resource && typeof block.resource === "object") {
      const resource = block.resource as { uri: string; mimeType?: string; text?: string; blob?: string };
      if (typeof resource.text === "string") parts.push(`[resource ${resource.uri}]\n${resource.text}`);
      else if (typeof resource.blob === "string") {
        const { relative } = await save(resource.blob, resource.mimeType);
        saved.push(relative);
        parts.push(`[resource ${resource.uri} saved as ${relative}]`);
      }
    } else parts.push(`[unsupported MCP content block of type ${JSON.stringify(block.type)}]`);
  }
  if (result.structuredContent && !parts.some((p) => p.length)) parts.push(JSON.stringify(result.structuredContent));
  const text = parts.join("\n");
  if (result.isError) {
    return { content: `${toolName} reported an error: ${text || "(no message)"}`, isError: true, details: { kind: "failed", mcpError: true } };
  }
  return { content: text || "(the tool returned no content)", ...(files.length ? { files } : {}) };
}
