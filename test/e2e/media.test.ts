// Inbound photo and document: downloaded into the workspace (attachments/incoming) and passed to the
// model (an image part for a model with image input, a file reference for other files, a PDF as its
// extracted text for a model without pdf_in and as a file part for one with it).
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { RecordedRequest, ScriptedReply } from "../fakes/openai-server.js";
import { privateChat } from "../fakes/telegram-api.js";
import { makeJpeg, makePdf } from "../fixtures/media-files.js";
import { lastUserText, startE2E, wireMessages, type E2E } from "./fixture.js";

function respond(req: RecordedRequest): ScriptedReply {
  return { text: `Got ${/\[(\w+)\]/.exec(lastUserText(req))?.[1] ?? "?"}.` };
}

const chat = privateChat(601, "Media");
let e2e: E2E;
let incoming: string;

beforeAll(async () => {
  e2e = await startE2E({ responder: respond, config: { adminUserIds: [chat.id], mainCapabilities: ["chat", "image_in"] } });
  const status = await e2e.ask(chat, "/status");
  const id = /^Conversation: (\S+)$/m.exec(status)![1]!;
  incoming = join(e2e.workdir, "conversations", id, "attachments", "incoming");
});

afterAll(async () => {
  await e2e?.close();
});

/** The file in attachments/incoming whose name ends with `suffix`. */
function downloaded(suffix: string): string | undefined {
  const name = readdirSync(incoming).find((f) => f.endsWith(suffix));
  return name ? join(incoming, name) : undefined;
}

/** The model request answering the message tagged `tag`. */
function requestFor(tag: string): RecordedRequest | undefined {
  return e2e.model.requests.find((r) => lastUserText(r).includes(`[${tag}]`));
}

describe("inbound media", { timeout: 60_000 }, () => {
  it("downloads a photo into the workspace and gives the model the image", async () => {
    const bytes = makeJpeg("cat for the e2e test");
    e2e.telegram.sendPhoto(chat, { fileName: "cat.jpg", mimeType: "image/jpeg", bytes, caption: "what is in this picture? [photo]" });
    await e2e.waitText(chat.id, /^Got photo\.$/);
    const file = downloaded(".jpg");
    expect(file, `a .jpg in ${incoming}`).toBeDefined();
    expect(readFileSync(file!)).toEqual(bytes);

    const user = wireMessages(requestFor("photo")!).filter((m) => m.role === "user").at(-1)!;
    expect(Array.isArray(user.content)).toBe(true);
    const parts = user.content as { type: string; text?: string; image_url?: { url: string } }[];
    expect(parts.find((p) => p.type === "image_url")?.image_url?.url).toBe(`data:image/jpeg;base64,${bytes.toString("base64")}`);
    expect(parts.some((p) => p.type === "text" && p.text!.includes("what is in this picture?"))).toBe(true);
  });

  it("downloads a document into the workspace and gives the model a reference to it", async () => {
    const bytes = Buffer.from("quarterly numbers: 42\n");
    e2e.telegram.sendDocument(chat, { fileName: "report.txt", mimeType: "text/plain", bytes, caption: "summarize this [doc]" });
    await e2e.waitText(chat.id, /^Got doc\.$/);
    const file = downloaded("report.txt");
    expect(file, `report.txt in ${incoming}`).toBeDefined();
    expect(readFileSync(file!)).toEqual(bytes);

    const text = lastUserText(requestFor("doc")!);
    expect(text).toContain(`uri: ${pathToFileURL(file!).href}`);
    expect(text).toContain("name: report.txt");
    expect(text).toContain("media_type: text/plain");
    expect(text).toContain("summarize this [doc]");
  });

  it("gives a model without pdf_in the text of a PDF document", async () => {
    const bytes = makePdf(["Invoice 2024-117", "Total due: 1,234.56 EUR"]);
    e2e.telegram.sendDocument(chat, { fileName: "invoice.pdf", mimeType: "application/pdf", bytes, caption: "what is the total? [pdf]" });
    await e2e.waitText(chat.id, /^Got pdf\.$/);
    expect(readFileSync(downloaded("invoice.pdf")!)).toEqual(bytes);
    const text = lastUserText(requestFor("pdf")!);
    expect(text).toContain("[PDF attached as extracted text]");
    expect(text).toContain("Total due: 1,234.56 EUR");
    expect(text).not.toContain("%PDF-");
  });
});

describe("inbound PDF for a model with pdf_in", { timeout: 60_000 }, () => {
  it("reaches the model as a file part", async () => {
    const other = privateChat(602, "Reader");
    const reader = await startE2E({ responder: respond, config: { adminUserIds: [other.id], mainCapabilities: ["chat", "pdf_in"] } });
    try {
      const bytes = makePdf(["Native PDF input"]);
      reader.telegram.sendDocument(other, { fileName: "native.pdf", mimeType: "application/pdf", bytes, caption: "read it [native]" });
      await reader.waitText(other.id, /^Got native\.$/);
      const req = reader.model.requests.find((r) => lastUserText(r).includes("[native]"))!;
      const user = wireMessages(req).filter((m) => m.role === "user").at(-1)!;
      const parts = user.content as { type: string; file?: { filename: string; file_data: string } }[];
      const file = parts.find((p) => p.type === "file")?.file;
      expect(file?.filename).toBe("native.pdf");
      expect(file?.file_data).toBe(`data:application/pdf;base64,${bytes.toString("base64")}`);
    } finally {
      await reader.close();
    }
  });
});
