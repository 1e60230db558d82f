// The web API's workspace listing (`GET …/workspace?path=`) lists a folder whose path was checked to be inside the
// workspace. A tool process can swap that folder, or one above it, for a link to an outside folder after the check:
// the listing must then refuse, not list the outside folder's names and sizes. The swap is done before the listing
// is called with the checked path, as if it happened right after the check.
import { mkdirSync, mkdtempSync, realpathSync, renameSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { HttpError } from "../../src/channels/web/http-error.js";
import { listWorkspaceFolder } from "../../src/channels/web/workspace-listing.js";

const dirs: string[] = [];
afterEach(() => dirs.splice(0).forEach((d) => rmSync(d, { recursive: true, force: true })));

/** A workspace with `a/b/notes.txt` and `.starling/`, and an outside folder (with its own `b/`) of secret names. */
function setup(): { ws: string; outside: string } {
  const base = realpathSync(mkdtempSync(join(tmpdir(), "web-listing-")));
  dirs.push(base);
  const ws = join(base, "ws");
  const outside = join(base, "outside");
  mkdirSync(join(ws, "a", "b"), { recursive: true });
  mkdirSync(join(ws, ".starling"));
  writeFileSync(join(ws, "a", "b", "notes.txt"), "12345");
  mkdirSync(join(outside, "b"), { recursive: true });
  writeFileSync(join(outside, "outside-name.txt"), "x".repeat(777));
  writeFileSync(join(outside, "b", "outside-deeper.txt"), "x".repeat(777));
  return { ws, outside };
}

async function refusal(listing: Promise<unknown>): Promise<HttpError> {
  const error = await listing.then(
    (entries) => {
      throw new Error(`listed ${JSON.stringify(entries)}`);
    },
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(HttpError);
  return error as HttpError;
}

describe("the web workspace listing", () => {
  it("lists names, kinds and file sizes, without .starling at the root", async () => {
    const { ws } = setup();
    expect(await listWorkspaceFolder(ws, true, ".")).toEqual([{ name: "a", type: "dir" }]);
    expect(await listWorkspaceFolder(join(ws, "a", "b"), false, "a/b")).toEqual([{ name: "notes.txt", type: "file", size: 5 }]);
  });

  it("refuses a checked folder swapped for a link to an outside folder", async () => {
    const { ws, outside } = setup();
    renameSync(join(ws, "a"), join(ws, "moved"));
    symlinkSync(outside, join(ws, "a"));
    const error = await refusal(listWorkspaceFolder(join(ws, "a"), false, "a"));
    expect(error.status).toBe(409);
    expect(error.message).toContain('"a": it was changed into a link after it was checked; try again');
  });

  it("refuses a checked folder whose parent was swapped for a link to an outside folder", async () => {
    const { ws, outside } = setup();
    renameSync(join(ws, "a"), join(ws, "moved"));
    symlinkSync(outside, join(ws, "a"));
    const error = await refusal(listWorkspaceFolder(join(ws, "a", "b"), false, "a/b"));
    expect(error.status).toBe(409);
    expect(error.message).toContain('"a/b": a folder on its path was changed into a link after it was checked; try again');
  });
});
