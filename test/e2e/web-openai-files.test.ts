// The files an answer carries reach an OpenAI-compatible client of /v1/chat/completions: a markdown image
// line per image (a link for any other file) after the answer's text, as the last content piece when
// streamed, each URL an absolute download link signed for that one file, which opens without the token
// (a client fetches a markdown image itself) and only for that file.
import OpenAI from "openai";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { afterTool, lastUserText } from "./fixture.js";
import { startWebE2E, WEB_TOKEN, type WebE2E } from "./web-fixture.js";

/** A 1×1 PNG. */
const PNG = Buffer.from("iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg==", "base64");
const IMAGE_LINE = /^!\[(image-\d{8}T\d{6}-t\d+a\d+-1\.png)\]\((http:\/\/127\.0\.0\.1:\d+\/api\/conversations\/web-\d+\/workspace\/file\?path=generated%2F\1&sig=[\w-]+)\)$/;

describe("OpenAI endpoint: files of the answer", () => {
  let e2e: WebE2E;
  let client: OpenAI;

  beforeAll(async () => {
    e2e = await startWebE2E(
      (req) => {
        const text = lastUserText(req);
        if (text.includes("[report]")) return afterTool(req) ? { text: "The report is written.\n<attachment>report (final).txt</attachment>" } : { toolCalls: [{ name: "file_write", arguments: { file_path: "report (final).txt", content: "all good" } }] };
        if (text.includes("[draw]")) return { text: "Here is your drawing.", images: [`data:image/png;base64,${PNG.toString("base64")}`] };
        return { text: "ok" };
      },
      undefined,
      {},
      { capabilities: ["chat", "image_out"] },
    );
    await e2e.start();
    client = new OpenAI({ apiKey: WEB_TOKEN, baseURL: `${e2e.origin}/v1`, maxRetries: 0 });
  }, 60_000);
  afterAll(() => e2e?.close());

  /** The markdown line's URL: it opens without the token and gives the image. */
  async function imageAt(line: string): Promise<string> {
    const url = IMAGE_LINE.exec(line)?.[2];
    expect(url, `an image line: ${line}`).toBeDefined();
    const res = await fetch(url!);
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toBe("image/png");
    expect(Buffer.from(await res.arrayBuffer())).toEqual(PNG);
    return url!;
  }

  it("appends a markdown image line with a signed download link to the answer", async () => {
    const answer = await client.chat.completions.create({ model: "main", messages: [{ role: "user", content: "draw a dot [draw]" }] });
    const [text, blank, line, ...rest] = answer.choices[0]!.message.content!.split("\n");
    expect([text, blank, rest]).toEqual(["Here is your drawing.", "", []]);
    const url = await imageAt(line!);
    // The signature is for that file of that conversation only.
    const other = url.replace(/path=[^&]+/, "path=.starling%2Fsession.json");
    expect((await fetch(other)).status).toBe(401);
    const otherConversation = (await e2e.json("/api/conversations", { method: "POST", json: {} })).conversation_id as string;
    expect((await fetch(url.replace(/conversations\/web-\d+/, `conversations/${otherConversation}`))).status).toBe(401);
    expect((await fetch(url.replace(/sig=[\w-]+/, "sig=AAAA"))).status).toBe(401);
    expect((await fetch(url.replace(/sig=[\w-]+/, ""))).status).toBe(401);
    // …and for reading it: an upload to the signed URL still needs the token.
    expect((await fetch(url, { method: "POST", body: "overwritten", headers: { "content-type": "application/octet-stream" } })).status).toBe(401);
    expect(Buffer.from(await (await fetch(url)).arrayBuffer())).toEqual(PNG);
  });

  it("streams the links as the last content piece", async () => {
    const stream = await client.chat.completions.create({ model: "main", stream: true, messages: [{ role: "user", content: "draw again [draw]" }] });
    const pieces: string[] = [];
    for await (const chunk of stream) if (chunk.choices[0]?.delta?.content) pieces.push(chunk.choices[0].delta.content);
    expect(pieces.join("").startsWith("Here is your drawing.\n\n![")).toBe(true);
    await imageAt(pieces.at(-1)!.trim());
  });

  it("links a file that is not an image, its URL fit for markdown", async () => {
    const answer = await client.chat.completions.create({ model: "main", messages: [{ role: "user", content: "write the report [report]" }] });
    const content = answer.choices[0]!.message.content!;
    const link = /^The report is written\.\n\n\[report \(final\)\.txt\]\((http:[^()\s]+path=report%20%28final%29\.txt&sig=[\w-]+)\)$/.exec(content);
    expect(link, content).not.toBeNull();
    const res = await fetch(link![1]!);
    expect(res.headers.get("content-type")).toBe("application/octet-stream");
    expect(await res.text()).toBe("all good");
  });
});
