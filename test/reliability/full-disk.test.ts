// Full disk (issue #7): the workdir is a 16 MB tmpfs. Once it is full, a message sent meanwhile is
// not lost: after space is freed it is answered, and the host kept running throughout.
import { spawnSync } from "node:child_process";
import { mkdirSync, rmSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, expect, it } from "vitest";
import { startE2E, type E2E } from "../e2e/fixture.js";
import { privateChat } from "../fakes/telegram-api.js";
import { answerLastMarkers } from "./marker-model.js";
import { markersIn } from "./history.js";
import { fillDisk } from "./fill-disk.js";

const chat = privateChat(8501, "Full");
let e2e: E2E;
let mounted = false;
let why = "";

beforeAll(async () => {
  e2e = await startE2E({
    responder: answerLastMarkers,
    start: false,
    config: { adminUserIds: [chat.id] },
  });
  mkdirSync(e2e.workdir, { recursive: true });
  const mount = spawnSync("mount", ["-t", "tmpfs", "-o", "size=16m", "tmpfs", e2e.workdir], { encoding: "utf8" });
  mounted = mount.status === 0;
  why = mounted ? "" : `mount -t tmpfs failed (${(mount.stderr || mount.error?.message || "").trim()}); needs root or CAP_SYS_ADMIN`;
  if (!mounted) console.log(`full-disk test skipped: ${why}`);
});

afterAll(async () => {
  if (e2e?.host && e2e.host.child.exitCode === null) await e2e.stop();
  if (mounted) spawnSync("umount", [e2e.workdir]);
  await e2e?.close();
});

it("a message sent while the disk is full is answered once space is back; the host keeps running", async (ctx) => {
  if (!mounted) ctx.skip();
  e2e.start();
  expect(await e2e.ask(chat, "before [m:f1-1]", { timeoutMs: 30_000 })).toContain("m:f1-1");
  // The chat's worker: it must outlive the full disk (its store reopens the database after a failed
  // write instead of crashing; a restart after a full disk would log another "worker ready").
  const readyPids = () => e2e.logRecords().filter((r) => r["msg"] === "worker ready").map((r) => r["pid"] as number);
  const workersBefore = readyPids();
  expect(workersBefore).toHaveLength(1);
  const filler = join(e2e.workdir, "filler.bin");
  fillDisk(filler);
  e2e.send(chat, "while full [m:f1-2]");
  // The bot keeps trying; give it a few polls against the full disk.
  const polls = e2e.telegram.calls("getUpdates").length;
  await e2e.until(() => e2e.telegram.calls("getUpdates").length >= polls + 3 || e2e.host!.child.exitCode !== null, "a few polls", 30_000);
  expect(e2e.host!.child.exitCode, `the host kept running on a full disk\n${e2e.host!.output().slice(-2000)}`).toBeNull();
  rmSync(filler);
  // Where the full disk struck the turn (its answer or its end could not be stored), it fails with
  // /continue offered once the failure is stored: the user takes it up.
  const answered = () => e2e.replies(chat.id).some((m) => markersIn(m.text ?? "").includes("m:f1-2"));
  const offered = () => e2e.replies(chat.id).some((m) => (m.text ?? "").includes("Send /continue"));
  await e2e.until(() => answered() || offered(), "the answer (or a /continue offer) after space came back", 60_000);
  if (!answered()) e2e.send(chat, "/continue");
  await e2e.until(answered, "the answer after space came back", 60_000);
  const copies = e2e.replies(chat.id).filter((m) => markersIn(m.text ?? "").includes("m:f1-2") && !(m.text ?? "").includes("(possible duplicate)"));
  expect(copies).toHaveLength(1);
  expect(readyPids(), "the worker was not restarted").toEqual(workersBefore);
  expect(() => process.kill(workersBefore[0]!, 0), "the chat's worker is still running").not.toThrow();
}, 150_000);
