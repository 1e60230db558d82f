import { closeSync, writeSync } from "node:fs";
import { pathToFileURL } from "node:url";
import type { FileItem } from "@starling/protocol";
import type { ToolOutput } from "../tools/define-tool.js";
import { OutputStore } from "../tools/output-store.js";

/** The output area (`.output/mcp/` in the workspace) where files an MCP tool returns (images, audio, blobs) are saved. */
const MCP_AREA = "mcp";

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
 * Files are created new through the output store (never through a link planted in the workspace).
 */
export async function mapMcpResult(result: McpCallResult, workspace: string, callId: string, toolName: string): Promise<ToolOutput> {
  const parts: string[] = [];
  const files: FileItem[] = [];
  const saved: string[] = [];
  const outputs = new OutputStore(workspace);
  const save = (data: string, mimeType: string | undefined): { relative: string; file: FileItem } => {
    const ext = (mimeType && EXTENSIONS[mimeType]) ?? "bin";
    const out = outputs.create(MCP_AREA, `${callId}-${files.length + saved.length + 1}`, ext);
    try {
      writeSync(out.fd, Buffer.from(data, "base64"));
    } finally {
      closeSync(out.fd);
    }
    const name = out.display.slice(out.display.lastIndexOf("/") + 1);
    return { relative: out.display, file: { type: "file", uri: pathToFileURL(out.abs).href, name, ...(mimeType ? { mediaType: mimeType } : {}) } };
  };
  for (const block of result.content ?? []) {
    if (block.type === "text" && typeof block.text === "string") parts.push(block.text);
    else if ((block.type === "image" || block.type === "audio") && typeof block.data === "string") {
      const { relative, file } = save(block.data, typeof block.mimeType === "string" ? block.mimeType : undefined);
      files.push(file);
      parts.push(`[${block.type} saved as ${relative}]`);
    } else if (block.type === "resource_link" && typeof block.uri === "string") {
      parts.push(`[resource link: ${block.uri}${typeof block.name === "string" ? ` (${block.name})` : ""}]`);
    } else if (block.type === "resource" && block.resource && typeof block.resource === "object") {
      const resource = block.resource as { uri: string; mimeType?: string; text?: string; blob?: string };
      if (typeof resource.text === "string") parts.push(`[resource ${resource.uri}]\n${resource.text}`);
      else if (typeof resource.blob === "string") {
        const { relative } = save(resource.blob, resource.mimeType);
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
