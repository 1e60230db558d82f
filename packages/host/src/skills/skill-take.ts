import { closeSync, constants, fstatSync, mkdirSync, openSync, readdirSync, readFileSync, readSync, rmSync, writeSync } from "node:fs";
import { join } from "node:path";
import { ConfinedDir, SKILL_LIMITS, validateSkillMd } from "@starling/protocol";
import { SkillError } from "./skill-files.js";

/** A staged file is opened without following a link, and a FIFO swapped in never blocks the open. */
const FILE_FLAGS = constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK;
const CHUNK = 64 * 1024;

/**
 * Copies the agent's staged `<workspace>/.skill/<name>` to `to` (a host-owned path that must not exist)
 * and checks the copy: what is checked is what is stored. The workspace belongs to the agent, whose
 * background commands may swap any file or folder for a link (or a bigger file) at any moment, so every
 * name is opened through its parent's descriptor with O_NOFOLLOW (ConfinedDir) and each file's kind and
 * size come from the opened descriptor: a link, special file or anything over SKILL_LIMITS is refused
 * while copying, and nothing outside the staged folder is ever read. A `.git` folder is left out (the
 * store's copy keeps its own). On a refusal `to` is removed and a SkillError names the problem.
 */
export function takeStagedSkill(workspace: string, name: string, to: string): { description: string } {
  const shown = `.skill/${name}`;
  try {
    const dir = openStaged(workspace, name, shown);
    try {
      new Copier(shown).copyDir(dir, to, "");
    } finally {
      dir.close();
    }
    return checkCopy(to, name, shown);
  } catch (error) {
    rmSync(to, { recursive: true, force: true });
    throw error;
  }
}

function openStaged(workspace: string, name: string, shown: string): ConfinedDir {
  const ws = ConfinedDir.open(workspace, workspace);
  let root: ConfinedDir;
  try {
    root = ws.openDir(".skill");
  } catch {
    throw new SkillError(`.skill in your workspace must be a folder (not a link): write ${shown}/SKILL.md there`);
  } finally {
    ws.close();
  }
  try {
    return root.openDir(name);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") throw new SkillError(`${shown}/ does not exist in your workspace: write ${shown}/SKILL.md first, then call this again`);
    throw new SkillError(`${shown} must be a folder (not a file or a link) holding SKILL.md`);
  } finally {
    root.close();
  }
}

class Copier {
  private files = 0;
  private bytes = 0;
  private readonly buffer = Buffer.alloc(CHUNK);
  constructor(private readonly shown: string) {}

  copyDir(src: ConfinedDir, to: string, rel: string): void {
    mkdirSync(to);
    for (const entry of readdirSync(src.procPath ?? src.abs, { withFileTypes: true })) {
      if (rel === "" && entry.name === ".git") continue;
      const entryRel = rel === "" ? entry.name : `${rel}/${entry.name}`;
      if (entry.isDirectory()) {
        const sub = this.open(() => src.openDir(entry.name), entryRel);
        try {
          this.copyDir(sub, join(to, entry.name), entryRel);
        } finally {
          sub.close();
        }
      } else if (entry.isFile()) {
        this.files += 1;
        if (this.files > SKILL_LIMITS.files) throw new SkillError(`${this.shown} has more than ${SKILL_LIMITS.files} files; keep a skill small`);
        this.copyFile(src, entry.name, join(to, entry.name), entryRel);
      } else {
        throw this.special(entryRel);
      }
    }
  }

  private copyFile(src: ConfinedDir, name: string, to: string, rel: string): void {
    const fd = this.open(() => openSync(src.entry(name), FILE_FLAGS), rel);
    try {
      const stat = fstatSync(fd);
      if (!stat.isFile()) throw this.special(rel);
      const out = openSync(to, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL, stat.mode & 0o777);
      try {
        for (let n = readSync(fd, this.buffer); n > 0; n = readSync(fd, this.buffer)) {
          this.bytes += n;
          if (this.bytes > SKILL_LIMITS.totalBytes) throw new SkillError(`${this.shown} is larger than ${SKILL_LIMITS.totalBytes} bytes in all; keep a skill small`);
          writeSync(out, this.buffer, 0, n);
        }
      } finally {
        closeSync(out);
      }
    } finally {
      closeSync(fd);
    }
  }

  /** Runs an open of `rel`; a link (ELOOP, ENOTDIR) or anything else that cannot be opened is refused by name. */
  private open<T>(fn: () => T, rel: string): T {
    try {
      return fn();
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === "ENOENT") throw new SkillError(`${this.shown}/${rel} vanished while it was copied; call this again when nothing changes the skill`);
      throw this.special(rel);
    }
  }

  private special(rel: string): SkillError {
    return new SkillError(`${this.shown}/${rel} is a link or special file; a skill may hold only regular files and folders`);
  }
}

/** SKILL.md of the host's copy (only regular files and folders, made above): present, within its limit, valid frontmatter. */
function checkCopy(dir: string, name: string, shown: string): { description: string } {
  let md: Buffer;
  try {
    md = readFileSync(join(dir, "SKILL.md"));
  } catch {
    throw new SkillError(`${shown}/SKILL.md is missing: every skill needs one`);
  }
  if (md.length > SKILL_LIMITS.skillMdBytes) throw new SkillError(`${shown}/SKILL.md is ${md.length} bytes; the limit is ${SKILL_LIMITS.skillMdBytes}`);
  const parsed = validateSkillMd(md.toString("utf8"), name);
  if (!parsed.ok) throw new SkillError(`${shown}/${parsed.error}`);
  return { description: parsed.description };
}
