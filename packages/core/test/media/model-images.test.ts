import { mkdir, mkdtemp, readdir, readFile, rm, symlink, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import type { FileItem, TextItem } from "@starling/protocol";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { MAX_MEDIA_BYTES } from "../../src/media/media-bytes.js";
import { saveModelImages } from "../../src/media/model-images.js";

const PNG = Buffer.from("iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg==", "base64");

const STAMP = "20261201T023401-t3a2";
let workspace: string;
beforeEach(async () => {
  workspace = await mkdtemp(join(tmpdir(), "model-images-"));
});
afterEach(async () => {
  await rm(workspace, { recursive: true, force: true });
});

describe("saveModelImages", () => {
  it("saves a returned image under generated/ and attaches it to the reply", async () => {
    const out = await saveModelImages([{ type: "text", text: "A cat." }, { type: "file", uri: `data:image/png;base64,${PNG.toString("base64")}` }], workspace, STAMP);
    const file = out[1] as FileItem;
    expect(file).toMatchObject({ type: "file", mediaType: "image/png" });
    expect(file.uri).toMatch(/^file:\/\/.*\/generated\/image-20261201T023401-t3a2-1\.png$/);
    expect(await readFile(fileURLToPath(file.uri))).toEqual(PNG);
    expect(out[2]).toEqual({ type: "text", text: `<attachment>generated/${file.name}</attachment>` });
  });

  it("reuses the file a retried step wrote, and never overwrites a different file at that name", async () => {
    const url = `data:image/png;base64,${PNG.toString("base64")}`;
    await mkdir(join(workspace, "generated"));
    await writeFile(join(workspace, "generated", `image-${STAMP}-1.png`), "the user's own file");
    const first = await saveModelImages([{ type: "file", uri: url }], workspace, STAMP);
    const retried = await saveModelImages([{ type: "file", uri: url }], workspace, STAMP);
    expect((first[0] as FileItem).name).toBe(`image-${STAMP}-1-2.png`);
    expect(retried).toEqual(first);
    expect((await readdir(join(workspace, "generated"))).sort()).toEqual([`image-${STAMP}-1-2.png`, `image-${STAMP}-1.png`]);
    expect(await readFile(join(workspace, "generated", `image-${STAMP}-1.png`), "utf8")).toBe("the user's own file");
  });

  it("adds to a retried answer the images an earlier attempt saved under its names that it did not return again", async () => {
    const generated = join(workspace, "generated");
    await mkdir(generated);
    await writeFile(join(generated, `image-${STAMP}-1.png`), "first attempt, image 1");
    await writeFile(join(generated, `image-${STAMP}-2.jpg`), "first attempt, image 2");
    await writeFile(join(generated, `image-20261201T023401-t3a20-1.png`), "another answer's");
    await writeFile(join(generated, `image-${STAMP}-1.txt`), "not an image");
    await writeFile(join(workspace, "secret.png"), "outside generated/");
    await symlink(join(workspace, "secret.png"), join(generated, `image-${STAMP}-3.png`));
    const url = `data:image/png;base64,${PNG.toString("base64")}`;
    const out = await saveModelImages([{ type: "text", text: "Redrawn." }, { type: "file", uri: url }], workspace, STAMP, { retried: true });
    expect(out.map((item) => (item.type === "file" ? item.name : item.type === "text" ? item.text : item.type))).toEqual([
      "Redrawn.",
      `image-${STAMP}-1-2.png`,
      `image-${STAMP}-1.png`,
      `image-${STAMP}-2.jpg`,
      [
        `<attachment>generated/image-${STAMP}-1-2.png</attachment>`,
        "(Also returned by an earlier attempt at this answer that was cut short:)",
        `<attachment>generated/image-${STAMP}-1.png</attachment>`,
        `<attachment>generated/image-${STAMP}-2.jpg</attachment>`,
      ].join("\n"),
    ]);
    expect(out[3]).toMatchObject({ type: "file", mediaType: "image/jpeg" });
    // A text-only retry carries them too (its image was the one found again); a first attempt looks for none.
    const textOnly = await saveModelImages([{ type: "text", text: "No image this time." }], workspace, STAMP, { retried: true });
    expect(textOnly.filter((item) => item.type === "file").map((item) => (item as FileItem).name)).toEqual([`image-${STAMP}-1-2.png`, `image-${STAMP}-1.png`, `image-${STAMP}-2.jpg`]);
    expect(await saveModelImages([{ type: "text", text: "Fresh." }], workspace, STAMP)).toEqual([{ type: "text", text: "Fresh." }]);
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
      STAMP,
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
      const out = await saveModelImages([{ type: "file", uri: `data:image/png;base64,${PNG.toString("base64")}` }], workspace, STAMP);
      expect(out).toHaveLength(1);
      expect((out[0] as TextItem).text).toMatch(/^\(Image 1 returned by the model was not saved: generated\/ in the workspace is a link or not a folder \((ENOTDIR|ELOOP)\); remove it so images can be saved there\.\)$/);
      expect(await readdir(outside)).toEqual([]);
    } finally {
      await rm(outside, { recursive: true, force: true });
    }
  });
});
