import { mkdtemp, readdir, readFile, rm, symlink } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import type { FileItem, TextItem } from "@starling/protocol";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { MAX_MEDIA_BYTES } from "../../src/media/media-bytes.js";
import { saveModelImages } from "../../src/media/model-images.js";

const PNG = Buffer.from("iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg==", "base64");

let workspace: string;
beforeEach(async () => {
  workspace = await mkdtemp(join(tmpdir(), "model-images-"));
});
afterEach(async () => {
  await rm(workspace, { recursive: true, force: true });
});

describe("saveModelImages", () => {
  it("saves a returned image under generated/ and attaches it to the reply", async () => {
    const out = await saveModelImages([{ type: "text", text: "A cat." }, { type: "file", uri: `data:image/png;base64,${PNG.toString("base64")}` }], workspace);
    const file = out[1] as FileItem;
    expect(file).toMatchObject({ type: "file", mediaType: "image/png" });
    expect(file.uri).toMatch(/^file:\/\/.*\/generated\/image-\d{8}T\d{6}-1\.png$/);
    expect(await readFile(fileURLToPath(file.uri))).toEqual(PNG);
    expect(out[2]).toEqual({ type: "text", text: `<attachment>generated/${file.name}</attachment>` });
  });

  it("saves two images of the same second under different names", async () => {
    const url = `data:image/png;base64,${PNG.toString("base64")}`;
    await saveModelImages([{ type: "file", uri: url }], workspace);
    await saveModelImages([{ type: "file", uri: url }], workspace);
    expect((await readdir(join(workspace, "generated"))).length).toBe(2);
  });

  it("refuses non-image data, URLs and images over the media limit with a note, and saves nothing", async () => {
    const big = "A".repeat(Math.ceil(((MAX_MEDIA_BYTES + 3) * 4) / 3));
    const out = await saveModelImages(
      [
        { type: "file", uri: "data:text/html;base64,PGgxPmhpPC9oMT4=" },
        { type: "file", uri: "https://example.com/cat.png" },
        { type: "file", uri: `data:image/png;base64,${big}` },
        { type: "file", uri: "data:image/png;base64,!!notbase64!!" },
      ],
      workspace,
    );
    expect(out).toHaveLength(1);
    const note = (out[0] as TextItem).text.split("\n");
    expect(note[0]).toBe("(Image 1 returned by the model was not saved: it is not a base64 image (text/html;base64); only data:image/…;base64 URLs are saved.)");
    expect(note[1]).toBe("(Image 2 returned by the model was not saved: it is not inline data (https: URL); only data:image/… URLs are saved.)");
    expect(note[2]).toMatch(/^\(Image 3 returned by the model was not saved: it is \d+ bytes, over the 20971520-byte limit for media files\.\)$/);
    expect(note[3]).toBe("(Image 4 returned by the model was not saved: its base64 data is malformed.)");
    await expect(readdir(join(workspace, "generated"))).rejects.toThrow(/ENOENT/);
  });

  it("does not follow a generated/ a tool replaced with a link out of the workspace", async () => {
    const outside = await mkdtemp(join(tmpdir(), "model-images-outside-"));
    try {
      await symlink(outside, join(workspace, "generated"));
      const out = await saveModelImages([{ type: "file", uri: `data:image/png;base64,${PNG.toString("base64")}` }], workspace);
      expect(out).toHaveLength(1);
      expect((out[0] as TextItem).text).toMatch(/^\(Image 1 returned by the model was not saved: generated\/ in the workspace is a link or not a folder \((ENOTDIR|ELOOP)\); remove it so images can be saved there\.\)$/);
      expect(await readdir(outside)).toEqual([]);
    } finally {
      await rm(outside, { recursive: true, force: true });
    }
  });
});
