// The total of files inlined into one model request is capped: the newest stay, older ones become a
// note saying they were left out and how to load them again.
import { randomBytes } from "node:crypto";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { FileItem, TranscriptMessage } from "@starling/protocol";
import { normalizeMessages } from "../../src/media/normalize.js";
import { LEFT_OUT_HEADER, MAX_REQUEST_MEDIA_BYTES } from "../../src/media/request-media-cap.js";
import { mediaModel } from "./media-model.js";

let dir: string;
const MB = 1024 * 1024;
const config = mediaModel({ capabilities: ["chat", "file_in"] });
const file = (name: string): FileItem => ({ type: "file", uri: pathToFileURL(join(dir, name)).href, name, mediaType: "application/octet-stream" });
const toolResult = (index: number, ...content: TranscriptMessage["content"]): TranscriptMessage => ({ index, role: "tool", time: "2026-01-01T00:00:00Z", content });

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "starling-media-cap-"));
  for (const name of ["a.bin", "b.bin", "c.bin"]) await writeFile(join(dir, name), randomBytes(8 * MB));
  await writeFile(join(dir, "small.bin"), randomBytes(1 * MB));
});

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe("the media inlined into one request", () => {
  it("keeps the newest files within the cap and names each older one left out, with how to load it again", async () => {
    expect(MAX_REQUEST_MEDIA_BYTES).toBe(20 * MB);
    const history = [toolResult(0, file("a.bin")), toolResult(1, { type: "text", text: "two files" }, file("small.bin"), file("b.bin")), toolResult(2, file("c.bin"))];
    const out = await normalizeMessages(config, history);

    const kinds = out.map((m) => m.content.map((i) => (i.type === "file" ? `file ${i.name}` : i.type === "text" ? i.text.split("\n")[0] : i.type)));
    // c + b = 16 MB; a (8 MB) does not fit any more, small (1 MB) still does.
    expect(kinds).toEqual([[LEFT_OUT_HEADER], ["two files", "file small.bin", "file b.bin"], ["file c.bin"]]);
    const note = out[0]!.content[0]!;
    expect(note.type === "text" && note.text).toBe(
      [
        LEFT_OUT_HEADER,
        `path: ${join(dir, "a.bin")}`,
        "name: a.bin",
        "media_type: application/octet-stream",
        "reason: files inlined into one request are limited to 20 MB and newer ones took the room (this one is 8.0 MB); load it again (image_load, pdf_load, audio_load) to look at it in a later step",
      ].join("\n"),
    );
    const inlined = out.flatMap((m) => m.content).filter((i): i is FileItem => i.type === "file");
    expect(inlined.every((i) => i.uri.startsWith("data:"))).toBe(true);
  });

  it("leaves a history within the cap as it is", async () => {
    const out = await normalizeMessages(config, [toolResult(0, file("small.bin")), toolResult(1, file("c.bin"))]);
    expect(out.map((m) => m.content[0]!.type)).toEqual(["file", "file"]);
  });
});
