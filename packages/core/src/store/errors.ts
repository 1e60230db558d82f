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
