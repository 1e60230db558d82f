/** The session database is open in another process (only one worker may own a session). */
export class StoreLockedError extends Error {
  override readonly name = "StoreLockedError";
  constructor(
    readonly dir: string,
    cause: unknown,
  ) {
    super(`session database ${dir} is locked by another process; is a second worker running for this session?`, {
      cause,
    });
  }
}

/** The session's folder (in the workspace, or `dataDir`) cannot be made: the message names what is in the way. */
export class FolderError extends Error {
  override readonly name = "FolderError";
  constructor(
    readonly dir: string,
    reason: string,
  ) {
    super(reason);
  }
}
