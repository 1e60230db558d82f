import { lstatSync, realpathSync } from "node:fs";
import { join, sep } from "node:path";
import { isSameOrUnder, withoutTrailingSlash } from "@starling/protocol";
import type { Check } from "./doctor.js";
import { firstTen } from "./hidden-links.js";

interface Through {
  listed: string;
  link: string;
  real: string | null;
}

/**
 * `starling doctor`'s "hidden paths through links" line: the `sandbox.hidden_paths` entries that go through a
 * symlink inside a folder tools can write (`writable`: the conversations' workspaces, shared/). A worker hides
 * every real path such an entry led to from its first lookup on, but a link repointed before a worker starts
 * (by an earlier worker of the session, or another conversation's in shared/) leaves the old target unhidden for
 * it. Null when there is none.
 */
export function hiddenThroughLinksCheck(listed: readonly string[], writable: readonly string[]): Check | null {
  const roots = writable.flatMap((dir) => [dir, realOrNull(dir)]).filter((dir): dir is string => dir !== null);
  const found: Through[] = [];
  for (const path of listed) {
    const link = linkInWritable(withoutTrailingSlash(path), roots);
    if (link) found.push({ listed: path, link, real: realOrNull(path) });
  }
  if (found.length === 0) return null;
  const reals = found.map((f) => f.real ?? `$(realpath ${f.listed})`);
  return {
    name: "hidden paths through links",
    status: "warn",
    detail:
      `${firstTen(found.map((f) => `${f.listed} goes through the link ${f.link}, which tools can rewrite`))}: ` +
      "a worker hides only where the link leads from its own start, so a link repointed before then shows the old target to commands",
    next: `in sandbox.hidden_paths, list the real path instead: ${reals.join(", ")}`,
  };
}

/** The first symlink along `path` (the path itself included) that lies inside one of `roots`, or null. */
function linkInWritable(path: string, roots: readonly string[]): string | null {
  const parts = path.split(sep).filter((p) => p !== "");
  for (let i = 1; i <= parts.length; i++) {
    const prefix = join(sep, ...parts.slice(0, i));
    const info = lstatSync(prefix, { throwIfNoEntry: false });
    if (!info) return null;
    if (info.isSymbolicLink() && roots.some((root) => prefix !== root && isSameOrUnder(prefix, root))) return prefix;
  }
  return null;
}

function realOrNull(path: string): string | null {
  try {
    return realpathSync.native(path);
  } catch {
    return null;
  }
}
