// A hidden path listed through a symlink the agent can rewrite (`<workspace>/link/secret.env`) was masked at its old
// target only for the life of the worker that saw it: a worker started after the link was repointed (the session's
// next worker, after a host restart too) never saw the old target and did not mask it, so `cat real/secret.env`
// read the secret. The host now remembers, in its own database, where each hidden path led at every worker start
// and hands those real paths to later workers. Real LevelDB (closed and reopened as across a restart), real bwrap
// with a fresh HiddenPathMemory (a new worker process's).
import { spawnSync } from "node:child_process";
import { mkdirSync, mkdtempSync, realpathSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { bubblewrapArgs, HiddenPathMemory, MAX_REMEMBERED_PER_PATH, probeBubblewrap, ToolSandbox } from "@starling/protocol";
import { afterEach, describe, expect, it } from "vitest";
import { HiddenPathLedger } from "../../src/security/hidden-path-ledger.js";
import { HostStore } from "../../src/state/host-store.js";

const SECRET = "ledger-secret-5e1f";
const CHILD = fileURLToPath(new URL("./fixtures/ledger-child.ts", import.meta.url));
const bwrap = await probeBubblewrap("bwrap");
if (!bwrap.ok) console.warn(`the bubblewrap part is skipped: ${bwrap.problem}`);

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const fn of cleanups.splice(0).reverse()) await fn();
});

/** A workdir with a conversation workspace holding `real/secret.env` and `link -> real`; the listed path goes through `link`. */
function world() {
  const workdir = realpathSync(mkdtempSync(join(tmpdir(), "hidden-ledger-")));
  cleanups.push(() => rmSync(workdir, { recursive: true, force: true }));
  const ws = join(workdir, "conversations", "tg-000001");
  mkdirSync(join(ws, "real"), { recursive: true });
  mkdirSync(join(ws, "elsewhere"));
  writeFileSync(join(ws, "real", "secret.env"), `TOKEN=${SECRET}\n`);
  symlinkSync("real", join(ws, "link"));
  const repoint = (target: string) => {
    rmSync(join(ws, "link"));
    symlinkSync(target, join(ws, "link"));
  };
  return { workdir, ws, db: join(workdir, "state", "host"), listed: [join(ws, "link", "secret.env")], repoint };
}

async function openStore(db: string): Promise<HostStore> {
  const store = await HostStore.open(db);
  cleanups.push(() => store.close());
  return store;
}

describe("hidden paths remembered by the host", () => {
  it("a worker started after the link was repointed and the host restarted still masks the old target", async () => {
    const w = world();
    const first = await openStore(w.db);
    // The first worker's launch, while the link leads to real/.
    await new HiddenPathLedger(first, w.workdir).withRemembered(w.listed);
    // The agent repoints the link; the host restarts (its database closed and opened again).
    w.repoint("elsewhere");
    await first.close();
    cleanups.pop();
    const second = await openStore(w.db);
    const hiddenPaths = await new HiddenPathLedger(second, w.workdir).withRemembered(w.listed);
    expect(hiddenPaths).toEqual([...w.listed, join(w.ws, "real", "secret.env")]);
    // The file tools refuse a listed path by real path (core's HiddenFiles); bubblewrap must mask it too.
    if (!bwrap.ok) return;
    // A new worker's bubblewrap command.
    const sandbox = ToolSandbox.parse({ mode: "bubblewrap", hiddenPaths });
    const args = bubblewrapArgs(w.ws, sandbox, { PATH: "/usr/bin:/bin" }, w.ws, new HiddenPathMemory());
    const run = spawnSync("bwrap", [...args, "--", "/bin/sh", "-c", "cat real/secret.env; echo done"], { encoding: "utf8", env: { PATH: "/usr/bin:/bin" } });
    expect(run.stdout + run.stderr).toContain("done");
    expect(run.stdout + run.stderr).not.toContain(SECRET);
  });

  it("keeps the first real paths of a link repointed many times, and never a folder commands need or a workspace", async () => {
    const w = world();
    const store = await openStore(w.db);
    const warnings: unknown[] = [];
    const ledger = new HiddenPathLedger(store, w.workdir, (_message, fields) => warnings.push(fields));
    await ledger.withRemembered(w.listed);
    for (let i = 0; i <= MAX_REMEMBERED_PER_PATH; i++) {
      mkdirSync(join(w.ws, `junk${i}`));
      writeFileSync(join(w.ws, `junk${i}`, "secret.env"), "junk\n");
      w.repoint(`junk${i}`);
      await ledger.withRemembered(w.listed);
    }
    const paths = await ledger.withRemembered(w.listed);
    expect(paths).toHaveLength(1 + MAX_REMEMBERED_PER_PATH);
    expect(paths).toContain(join(w.ws, "real", "secret.env"));
    expect(warnings.length).toBeGreaterThan(0);

    // A listed folder through the link: pointed at /usr, the workspace itself or the conversations' folder, not kept.
    const folder = [join(w.ws, "link")];
    for (const target of ["/usr", w.ws, join(w.workdir, "conversations")]) {
      w.repoint(target);
      expect(await ledger.withRemembered(folder)).toEqual(folder);
    }
    // An entry taken out of the config is forgotten.
    expect(await ledger.withRemembered([])).toEqual([]);
    expect(store.list("hiddenreal:")).toEqual([]);
  });

  it("two launches at once keep both real paths; a failed write still hands this launch what it found", async () => {
    const w = world();
    const store = await openStore(w.db);
    const ledger = new HiddenPathLedger(store, w.workdir);
    mkdirSync(join(w.ws, "second"));
    writeFileSync(join(w.ws, "second", "secret.env"), "second\n");
    const first = ledger.withRemembered(w.listed);
    w.repoint("second");
    const second = ledger.withRemembered(w.listed);
    await Promise.all([first, second]);
    const both = [...w.listed, join(w.ws, "real", "secret.env"), join(w.ws, "second", "secret.env")];
    expect(await ledger.withRemembered(w.listed)).toEqual(both);

    const warnings: string[] = [];
    const failing = new HiddenPathLedger(store, w.workdir, (message) => warnings.push(message));
    mkdirSync(join(w.ws, "third"));
    writeFileSync(join(w.ws, "third", "secret.env"), "third\n");
    w.repoint("third");
    process.env.STARLING_FAIL_AT = "hidden_paths";
    try {
      expect(await failing.withRemembered(w.listed)).toEqual([...both, join(w.ws, "third", "secret.env")]);
    } finally {
      delete process.env.STARLING_FAIL_AT;
    }
    expect(warnings).toEqual(["could not store where hidden paths lead; this worker still masks them, later ones may not"]);
    w.repoint("elsewhere");
    expect(await failing.withRemembered(w.listed)).toEqual(both);
  });

  // A worker's lookup that finds a new real path mid-life (the link repointed while it ran) reports it; the host keeps
  // it for later workers. The report is the worker's word, untrusted: a compromised worker (or a link the agent pointed
  // at /usr) must not make the host mask what every command needs, or a workspace, for good.
  it("keeps a real path a worker reported mid-life, and refuses one a worker start would not keep", async () => {
    const w = world();
    const store = await openStore(w.db);
    const warnings: Record<string, unknown>[] = [];
    const ledger = new HiddenPathLedger(store, w.workdir, (_message, fields) => warnings.push(fields));
    mkdirSync(join(w.ws, "mid"));
    writeFileSync(join(w.ws, "mid", "secret.env"), "mid\n");
    const [listed] = w.listed as [string];
    const mid = join(w.ws, "mid", "secret.env");
    const refused = [
      { listed: "/srv/not-listed.env", real: mid },
      { listed, real: "/usr" },
      { listed, real: "/etc" },
      { listed, real: w.ws },
      { listed, real: join(w.workdir, "conversations") },
      { listed, real: join(w.workdir, "rundir") },
      { listed, real: join(w.ws, "link", "secret.env") },
      { listed, real: join(w.ws, "nowhere.env") },
      { listed, real: `${join(w.ws, "mid")}/../mid/secret.env` },
      { listed, real: listed },
    ];
    mkdirSync(join(w.workdir, "rundir", "shared"), { recursive: true });
    expect(await ledger.reported(w.listed, [...refused, { listed, real: mid }])).toEqual([mid]);
    expect(warnings.map((f) => f.real)).toEqual(refused.map((r) => r.real));
    expect(store.list("hiddenreal:")).toEqual([{ listed, reals: [mid] }]);
    // A later worker's launch (the link pointing elsewhere by then) gets it.
    w.repoint("elsewhere");
    expect(await ledger.withRemembered(w.listed)).toEqual([listed, mid]);
  });

  it("a host killed right after storing a worker's report (STARLING_CRASH_AT=hidden_paths) keeps it after its restart", async () => {
    const w = world();
    mkdirSync(join(w.ws, "mid"));
    writeFileSync(join(w.ws, "mid", "secret.env"), "mid\n");
    const mid = join(w.ws, "mid", "secret.env");
    const child = spawnSync(process.execPath, ["--import", "tsx", CHILD, w.db, w.workdir, ...w.listed], {
      encoding: "utf8",
      env: { ...process.env, STARLING_CRASH_AT: "hidden_paths", LEDGER_REPORT: mid },
    });
    expect(child.signal, child.stderr).toBe("SIGKILL");
    expect(child.stdout).toBe("");
    w.repoint("elsewhere");
    const store = await openStore(w.db);
    expect(await new HiddenPathLedger(store, w.workdir).withRemembered(w.listed)).toEqual([...w.listed, mid]);
  });

  it("a host killed right after the write (STARLING_CRASH_AT=hidden_paths) finds the real path after its restart", async () => {
    const w = world();
    const child = spawnSync(process.execPath, ["--import", "tsx", CHILD, w.db, w.workdir, ...w.listed], {
      encoding: "utf8",
      env: { ...process.env, STARLING_CRASH_AT: "hidden_paths" },
    });
    expect(child.signal, child.stderr).toBe("SIGKILL");
    expect(child.stdout).toBe("");
    w.repoint("elsewhere");
    const store = await openStore(w.db);
    expect(await new HiddenPathLedger(store, w.workdir).withRemembered(w.listed)).toEqual([...w.listed, join(w.ws, "real", "secret.env")]);
  });
});
