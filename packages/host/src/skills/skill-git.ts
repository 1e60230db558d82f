import { execFile } from "node:child_process";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { sshEnv, type UpstreamPush } from "@starling/protocol";

export interface SkillUpstream {
  repo_url: string;
  branch: string;
}

/** Longest git message kept in a result. */
const GIT_ERROR_CHARS = 800;
/** Per git command; below the worker's default coordinate timeout (60 s), so a slow push is reported, not cut off. */
const GIT_TIMEOUT_MS = 40_000;

/**
 * Commits the runtime skill folder and pushes it to its upstream (reference host §4.10): `git init`
 * when there is no `.git`, a committer identity when none is set, `checkout -B <branch>`, origin set
 * to `repo_url`, `add -A`, a commit only when something changed, `push -u origin <branch>`.
 * git runs with the tools' allowlisted environment (plus SSH_AUTH_SOCK, as ssh does), never a
 * prompt, and a time limit (GIT_TIMEOUT_MS). A failure is returned in the result, never thrown or dropped.
 */
export async function pushSkillUpstream(dir: string, name: string, upstream: SkillUpstream): Promise<UpstreamPush> {
  const result: UpstreamPush = { configured: true, pushed: false, committed: false, repo_url: upstream.repo_url, branch: upstream.branch };
  try {
    if (!existsSync(join(dir, ".git"))) await git(dir, ["init", "--quiet"]);
    if (!(await git(dir, ["config", "user.name"], true))) await git(dir, ["config", "user.name", "Starling"]);
    if (!(await git(dir, ["config", "user.email"], true))) await git(dir, ["config", "user.email", "starling@localhost"]);
    await git(dir, ["checkout", "--quiet", "-B", upstream.branch]);
    const remotes = (await git(dir, ["remote"])).split("\n");
    await git(dir, remotes.includes("origin") ? ["remote", "set-url", "origin", upstream.repo_url] : ["remote", "add", "origin", upstream.repo_url]);
    await git(dir, ["add", "-A"]);
    if (await git(dir, ["status", "--porcelain"])) {
      await git(dir, ["commit", "--quiet", "-m", `Update skill ${name}`]);
      result.committed = true;
    }
    await git(dir, ["push", "--quiet", "-u", "origin", upstream.branch]);
    result.pushed = true;
  } catch (err) {
    result.error = (err instanceof Error ? err.message : String(err)).slice(0, GIT_ERROR_CHARS);
  }
  return result;
}

/** Runs git in `cwd`; its trimmed stdout, or "" when `allowFail` and it failed. */
function git(cwd: string, args: string[], allowFail = false): Promise<string> {
  const env = { ...sshEnv(process.env), GIT_TERMINAL_PROMPT: "0", GIT_SSH_COMMAND: "ssh -o BatchMode=yes -o ConnectTimeout=15" };
  return new Promise((resolve, reject) => {
    execFile("git", args, { cwd, env, timeout: GIT_TIMEOUT_MS, killSignal: "SIGKILL", maxBuffer: 4 * 1024 * 1024 }, (err, stdout, stderr) => {
      if (!err) return resolve(stdout.trim());
      if (allowFail) return resolve("");
      const code = (err as NodeJS.ErrnoException).code === "ENOENT" ? "git is not installed on the host" : (stderr.trim() || err.message);
      reject(new Error(`git ${args[0]} failed: ${code}`));
    });
  });
}
