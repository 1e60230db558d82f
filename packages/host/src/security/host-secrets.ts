import { createRedactor, NO_REDACTION, type Redactor, scrubOwnEnviron } from "@starling/protocol";

let current: Redactor = NO_REDACTION;

/** The redactor built from the config's secret values at start (no-op before `adoptHostSecrets`). */
export function hostRedactor(): Redactor {
  return current;
}

/**
 * Called once at start, after the host read every config-named secret (`*_env`, from its
 * environment or the env file): builds the redactor for logs, chat texts and replies, and removes
 * those variables from this process's environment and from `/proc/self/environ`, so a tool that
 * reads its ancestors' environ finds nothing (docs/SECURITY.md). The host keeps the values in memory.
 */
export function adoptHostSecrets(secrets: Readonly<Record<string, string>>): Redactor {
  current = createRedactor(secrets);
  scrubOwnEnviron(Object.keys(secrets), process.env);
  return current;
}
