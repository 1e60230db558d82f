// A PDF sent as its extracted text counts in token estimates as that text once the normaliser has sent it
// (Anthropic, a PDF over its 100 pages), while one sent inline keeps a file's flat cost.
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import type { FileItem, ModelConfig, TranscriptMessage } from "@starling/protocol";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { makePdfPages } from "../../../../test/fixtures/media-files.js";
import { normalizeMessages } from "../../src/media/normalize.js";
import { tokenEstimatorFor } from "../../src/tokens/estimator.js";
import { DEFAULT_FILE_TOKENS } from "../../src/tokens/image-tokens.js";
import { createModelConfig, message } from "../providers/helpers.js";

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "starling-pdf-tokens-"));
  await writeFile(join(dir, "book.pdf"), makePdfPages(150, "Book"));
  await writeFile(join(dir, "short.pdf"), makePdfPages(3, "Short"));
});
afterAll(() => rm(dir, { recursive: true, force: true }));

const pdf = (name: string): FileItem => ({ type: "file", uri: pathToFileURL(join(dir, name)).href, name, mediaType: "application/pdf" });
const claude = (): ModelConfig => createModelConfig("http://127.0.0.1:1/v1/messages", { provider_type: "claude_code", model_name: "claude-sonnet-4-5", capabilities: ["chat", "pdf_in"] });
const sentText = (messages: TranscriptMessage[]): string => messages[0]!.content.flatMap((i) => (i.type === "text" ? [i.text] : [])).join("");

describe("token estimates of PDFs", () => {
  it("a 150-page PDF Anthropic gets as its text counts that text once it was sent (before: a file's cost)", async () => {
    const config = claude();
    const history = [message("user", [{ type: "text", text: "read" }, pdf("book.pdf")])];
    const estimator = tokenEstimatorFor(config);
    expect(estimator.messageTokens(history[0]!), "not normalised yet: a file").toBeLessThan(DEFAULT_FILE_TOKENS + 20);
    const text = sentText(await normalizeMessages(config, history));
    expect(text).toContain("Book page 150");
    expect(estimator.messageTokens(history[0]!)).toBeGreaterThanOrEqual(estimator.textTokens(text));
  });

  it("a PDF sent inline keeps a file's cost", async () => {
    const config = claude();
    const history = [message("user", [pdf("short.pdf")])];
    const normalized = await normalizeMessages(config, history);
    expect(normalized[0]!.content[0]).toMatchObject({ type: "file" });
    expect(tokenEstimatorFor(config).messageTokens(history[0]!)).toBe(DEFAULT_FILE_TOKENS + 4);
  });
});
