import { createHash } from "node:crypto";
import { existsSync } from "node:fs";
import path from "node:path";

const MAX_SESSION_FOLDER = 200;

/**
 * The one rule for a session's folder name (ARCHITECTURE §7), used by the host for `initialize.dataDir`
 * and `/new`'s archive, and by a worker that was given no `dataDir`. As Stellaclaw does it, every character
 * outside `[A-Za-z0-9_.-]` becomes `_`. Two additions make the result always one usable path segment: an
 * empty or dots-only result becomes underscores (`..` → `__`), and a result longer than 200 characters is
 * cut to 191 and suffixed with `-` and 8 hex characters of the id's SHA-256, so long ids stay distinct.
 * Ids Starling creates (`<conversation id>.foreground`, `.background.NNNN`, `.subagent.NNNN`) are unchanged.
 */
export function sessionFolderName(id: string): string {
  let name = id.replace(/[^A-Za-z0-9_.-]/g, "_");
  if (/^\.*$/.test(name)) name = "_".repeat(Math.max(1, name.length));
  if (name.length > MAX_SESSION_FOLDER) {
    const hash = createHash("sha256").update(id).digest("hex").slice(0, 8);
    name = `${name.slice(0, MAX_SESSION_FOLDER - 9)}-${hash}`;
  }
  return name;
}

/** `<workspace>/.starling/sessions/<folder name>`: the folder a worker keeps its session state in. */
export function sessionStateDir(workspace: string, sessionId: string): string {
  return path.join(path.resolve(workspace), ".starling", "sessions", sessionFolderName(sessionId));
}

/**
 * The session LevelDB a worker opens when `initialize` names no `dataDir`: `sessionStateDir(…)/db`.
 * Before 0.7.0 a worker without `dataDir` named the folder by an older rule (leading dots became one `_`,
 * long ids were not shortened); a session whose folder exists only under that name keeps it.
 */
export function defaultSessionDataDir(workspace: string, sessionId: string): string {
  const current = sessionStateDir(workspace, sessionId);
  const legacy = path.join(path.resolve(workspace), ".starling", "sessions", legacyFolderName(sessionId));
  if (legacy !== current && !existsSync(current) && existsSync(legacy)) return path.join(legacy, "db");
  return path.join(current, "db");
}

function legacyFolderName(id: string): string {
  return id.replace(/[^A-Za-z0-9._-]/g, "_").replace(/^\.+/, "_");
}
