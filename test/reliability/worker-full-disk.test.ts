// A worker whose session database hit a full disk (a tmpfs) recovers by itself once space is back:
// the next enqueue is accepted and answered, and what it stored survives a restart (LevelDB's log
// past a failed write is not trusted: the worker reopens the database before writing again).
import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { expect, it } from "vitest";
import { WorkerRequestError } from "@starling/protocol";
import { newEnv, transcript, userMessage } from "../conformance/harness.js";
import { fillDisk } from "./fill-disk.js";

it("after a full disk the same worker accepts and answers the next message once space is back, and keeps it", async (ctx) => {
  const mountPoint = mkdtempSync(join(tmpdir(), "starling-full-"));
  const mount = spawnSync("mount", ["-t", "tmpfs", "-o", "size=4m", "tmpfs", mountPoint], { encoding: "utf8" });
  if (mount.status !== 0) {
    console.log(`worker full-disk test skipped: mount -t tmpfs failed (${(mount.stderr || "").trim()}); needs root or CAP_SYS_ADMIN`);
    rmSync(mountPoint, { recursive: true, force: true });
    ctx.skip();
  }
  ctx.onTestFinished(() => {
    spawnSync("umount", [mountPoint]);
    rmSync(mountPoint, { recursive: true, force: true });
  });
  const { start } = await newEnv(ctx, { responder: () => ({ text: "answered" }) });
  const dataDir = join(mountPoint, "session");
  const w = await start({ init: { dataDir } });
  await w.client.enqueue(userMessage("m1", "before"));
  await w.waitForEvent("turn_completed");

  const filler = join(mountPoint, "filler.bin");
  fillDisk(filler);
  const refused = await w.client.enqueue(userMessage("m2", "while full ".repeat(5000))).then(
    () => null,
    (err: unknown) => err,
  );
  expect(refused).toBeInstanceOf(WorkerRequestError);
  expect(String((refused as Error).message)).toMatch(/No space left on device/);

  rmSync(filler);
  const since = w.mark();
  expect(await w.client.enqueue(userMessage("m3", "after"))).toEqual({ accepted: true, duplicate: false });
  const done = await w.waitForEvent("turn_completed", undefined, { since, timeoutMs: 15_000 });
  expect(done.message).toMatchObject({ content: [{ type: "text", text: "answered" }] });

  // What the worker acknowledged after the full disk is on disk: a new worker sees it.
  await w.client.shutdown();
  await w.exited();
  const again = await start({ init: { dataDir } });
  const ids = (await transcript(again.client)).map((m) => m.messageId ?? m.role);
  expect(ids).toEqual(["m1", "assistant", "m3", "assistant"]);
}, 60_000);
