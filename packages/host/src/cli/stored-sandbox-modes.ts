import { cpSync, existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { basename, join } from "node:path";
import { Level } from "level";
import { z } from "zod";
import { HostKeys } from "../state/host-store.js";
import type { SandboxMode } from "../state/records.js";

/** What `/sandbox` stored on a conversation (the rest of its record is not read). */
const StoredMode = z.object({ id: z.string(), sandboxOverride: z.enum(["subprocess", "bubblewrap"]).nullable().optional() });

export type StoredModes = { ok: true; overrides: { id: string; mode: SandboxMode }[] } | { ok: false; problem: string };

const ATTEMPTS = 3;

/**
 * The conversations whose `/sandbox` setting is stored (`sandboxOverride`), read from the host
 * database under `workdir`. A running host holds the database's lock, so a copy of it (without the
 * lock) is opened, never the database itself: doctor cannot disturb the host. A copy taken while
 * LevelDB compacts may miss a file or be torn; it is taken again, up to ATTEMPTS times.
 */
export async function storedSandboxModes(workdir: string): Promise<StoredModes> {
  const dir = join(workdir, "state", "host");
  if (!existsSync(dir)) return { ok: true, overrides: [] };
  let problem = "";
  for (let attempt = 0; attempt < ATTEMPTS; attempt += 1) {
    const copy = mkdtempSync(join(tmpdir(), "starling-doctor-state-"));
    try {
      cpSync(dir, copy, { recursive: true, filter: (path) => basename(path) !== "LOCK" });
      return { ok: true, overrides: await readOverrides(copy) };
    } catch (error) {
      problem = error instanceof Error ? error.message : String(error);
    } finally {
      rmSync(copy, { recursive: true, force: true });
    }
  }
  return { ok: false, problem };
}

async function readOverrides(dir: string): Promise<{ id: string; mode: SandboxMode }[]> {
  const db = new Level<string, unknown>(dir, { valueEncoding: "json", createIfMissing: false });
  await db.open();
  try {
    const prefix = HostKeys.conversation("");
    const out: { id: string; mode: SandboxMode }[] = [];
    // Keys `conv:<id>`: ";" is the character after ":", so the range is exactly that prefix.
    for await (const value of db.values({ gte: prefix, lt: `${prefix.slice(0, -1)};` })) {
      const record = StoredMode.safeParse(value);
      if (record.success && record.data.sandboxOverride) out.push({ id: record.data.id, mode: record.data.sandboxOverride });
    }
    return out;
  } finally {
    await db.close();
  }
}
