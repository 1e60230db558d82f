// The resume mark ("this session's worker may have work to finish", recovery.ts) decides which
// sessions a restarted host brings back. A continue sent right after the session was found resting
// must keep its mark even while the clearing of the old one is still being written.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, expect, it } from "vitest";
import { clearResumeMark, ensureResumeMark, hasResumeMark, markResume, resumeMarkedSessions } from "../../src/sessions/recovery.js";
import { HostStore } from "../../src/state/host-store.js";

let dir: string | null = null;
let store: HostStore | null = null;
afterEach(async () => {
  await store?.close();
  if (dir) rmSync(dir, { recursive: true, force: true });
  store = null;
  dir = null;
});

it("a mark ensured while its clearing is in flight is stored again, and a restarted host finds it", async () => {
  dir = mkdtempSync(join(tmpdir(), "starling-resume-"));
  store = await HostStore.open(join(dir, "state"));
  const s = store;
  await s.commit(null, (tx) => markResume(s, tx, "tg-000002.foreground"));
  // maybeRelease found the worker resting and clears the mark; before that batch is durable a
  // recovery decision sends a continue, which needs the mark.
  const clearing = s.commit(null, (tx) => clearResumeMark(tx, "tg-000002.foreground"));
  expect(hasResumeMark(s, "tg-000002.foreground"), "the durable state still shows the old mark").toBe(true);
  const marking = ensureResumeMark(s, "tg-000002.foreground");
  await Promise.all([clearing, marking]);
  expect(hasResumeMark(s, "tg-000002.foreground")).toBe(true);
  await s.close();
  store = await HostStore.open(join(dir, "state"));
  expect(resumeMarkedSessions(store)).toEqual(["tg-000002.foreground"]);
});
