import { mkdirSync, mkdtempSync, realpathSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { extractAttachments, PHOTO_MAX_BYTES } from "../../src/channels/telegram/format/index.js";

let root: string;
let ws: string;
let outside: string;

beforeAll(() => {
  root = realpathSync(mkdtempSync(path.join(tmpdir(), "starling-attach-")));
  ws = path.join(root, "workspace");
  outside = path.join(root, "outside");
  mkdirSync(path.join(ws, "out"), { recursive: true });
  mkdirSync(outside);
  writeFileSync(path.join(ws, "out", "chart.png"), "png-bytes");
  writeFileSync(path.join(ws, "report.pdf"), "pdf-bytes");
  writeFileSync(path.join(ws, "huge.jpg"), Buffer.alloc(PHOTO_MAX_BYTES + 1));
  writeFileSync(path.join(outside, "secret.txt"), "secret");
  symlinkSync(path.join(outside, "secret.txt"), path.join(ws, "link.txt"));
  symlinkSync(outside, path.join(ws, "linkdir"));
  symlinkSync(path.join(ws, "report.pdf"), path.join(ws, "inner-link.pdf"));
});

afterAll(() => {
  rmSync(root, { recursive: true, force: true });
});

describe("extractAttachments", () => {
  it("extracts files inside the workspace and removes the tags", () => {
    const text = "Here you go:\n<attachment>out/chart.png</attachment>\nand the report <attachment> report.pdf </attachment>.\n";
    const result = extractAttachments(text, ws);
    expect(result.rejected).toEqual([]);
    expect(result.attachments).toEqual([
      { path: path.join(ws, "out", "chart.png"), kind: "photo", name: "chart.png", size: 9 },
      { path: path.join(ws, "report.pdf"), kind: "document", name: "report.pdf", size: 9 },
    ]);
    expect(result.text).toBe("Here you go:\nand the report .");
  });

  it("accepts absolute paths inside the workspace and symlinks that stay inside", () => {
    const result = extractAttachments(
      `<attachment>${path.join(ws, "out/chart.png")}</attachment><attachment>inner-link.pdf</attachment>`,
      ws,
    );
    expect(result.rejected).toEqual([]);
    expect(result.attachments.map((a) => [a.path, a.kind])).toEqual([
      [path.join(ws, "out", "chart.png"), "photo"],
      [path.join(ws, "report.pdf"), "document"],
    ]);
    expect(result.text).toBe("");
  });

  it("sends photos over 10 MB as documents and attaches a file once", () => {
    const result = extractAttachments("<attachment>huge.jpg</attachment> <attachment>./huge.jpg</attachment>", ws);
    expect(result.attachments).toHaveLength(1);
    expect(result.attachments[0]?.kind).toBe("document");
  });

  it("rejects ../ escapes, absolute paths outside, symlink escapes and missing files", () => {
    const text = [
      "<attachment>../etc/passwd</attachment>",
      "<attachment>../../../../../../etc/passwd</attachment>",
      "<attachment>/etc/passwd</attachment>",
      "<attachment>link.txt</attachment>",
      "<attachment>linkdir/secret.txt</attachment>",
      "<attachment>nope.png</attachment>",
      "<attachment>out</attachment>",
      "<attachment>  </attachment>",
      "text stays",
    ].join("\n");
    const result = extractAttachments(text, ws);
    expect(result.attachments).toEqual([]);
    expect(result.text).toBe("text stays");
    const reasons = Object.fromEntries(result.rejected.map((r) => [r.path.trim(), r.reason]));
    expect(reasons["../etc/passwd"]).toMatch(/outside the workspace/);
    expect(reasons["../../../../../../etc/passwd"]).toMatch(/outside the workspace/);
    expect(reasons["/etc/passwd"]).toMatch(/outside the workspace/);
    expect(reasons["link.txt"]).toMatch(/symlink/);
    expect(reasons["linkdir/secret.txt"]).toMatch(/symlink/);
    expect(reasons["nope.png"]).toMatch(/not found/);
    expect(reasons["out"]).toMatch(/not a regular file/);
    expect(reasons[""]).toMatch(/empty/);
    expect(result.rejected).toHaveLength(8);
  });

  it("reports a missing workspace and leaves text without tags alone", () => {
    const missing = extractAttachments("<attachment>a.png</attachment>", path.join(root, "nope"));
    expect(missing.rejected[0]?.reason).toMatch(/does not exist/);
    expect(extractAttachments("  plain **text**  ", ws)).toEqual({ text: "plain **text**", attachments: [], rejected: [] });
  });
});
