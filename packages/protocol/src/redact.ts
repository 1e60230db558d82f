import { createHash } from "node:crypto";

/**
 * Value-based secret redaction (ARCHITECTURE §2). Built once from the secret values themselves
 * (config-named variables → value), not from key names, so a secret is caught wherever it turns up:
 * a log field, an error message, a tool's output, a memory dump.
 *
 * Besides the raw value it catches the forms a tool is likely to print by accident: URL-encoded,
 * JSON-escaped and base64 (standard and URL-safe, at each of the three byte alignments a value can
 * have inside a longer encoded blob). It is a last line of defence: an agent that wants to smuggle a
 * value out can always transform it (reverse it, split it); keeping secrets out of reach is what the
 * sandbox is for.
 */

/** Values shorter than this are not redacted: they would shred ordinary text and are not real secrets. */
export const MIN_REDACTED_LENGTH = 4;
const MIN_ENCODED_FRAGMENT = 8;

export interface Redactor {
  /** Variable names whose values this redactor replaces. */
  readonly names: readonly string[];
  /** `text` with every secret value (and its encoded forms) replaced by `[redacted:NAME]`. */
  redact(text: string): string;
  /** A deep copy of a JSON-like value with every string redacted (keys included). */
  redactDeep<T>(value: T): T;
  /** Adds a secret learned later (a renewed access token): redacted from then on, as `[redacted:NAME]`. */
  add(name: string, value: string): void;
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
}

/** The base64 characters that depend only on `value`'s bytes when it sits at byte offset 0, 1 or 2 of a larger blob. */
function base64Fragments(value: string): string[] {
  const bytes = Buffer.from(value, "utf8");
  const out: string[] = [];
  for (let offset = 0; offset < 3; offset++) {
    const encoded = Buffer.concat([Buffer.alloc(offset), bytes]).toString("base64");
    const start = Math.ceil((8 * offset) / 6);
    const end = Math.floor((8 * (offset + bytes.length)) / 6);
    const fragment = encoded.slice(start, end);
    if (fragment.length >= MIN_ENCODED_FRAGMENT) {
      out.push(fragment, fragment.replace(/\+/g, "-").replace(/\//g, "_"));
    }
  }
  return out;
}

function formsOf(value: string): string[] {
  const forms = new Set<string>([value, encodeURIComponent(value), JSON.stringify(value).slice(1, -1)]);
  for (const fragment of base64Fragments(value)) forms.add(fragment);
  return [...forms];
}

/** Secrets shorter than this get no digest: a hash of a short value could be guessed by trying. */
export const MIN_DIGEST_LENGTH = 12;
/** Characters a token is made of (base64/URL-safe alphabets, `:` of bot tokens, `.` of JWTs). */
const TOKEN_RUN = /[A-Za-z0-9_\-:.~+/=]+/g;
/** Longer runs (a base64 blob) are not searched: hashing every window would cost too much. */
const MAX_SEARCHED_RUN = 1024;

/** The digest of a secret for a process that must not know it (`initialize.secretDigests`); null when it is too short. */
export function secretDigest(name: string, value: string): { name: string; length: number; sha256: string } | null {
  if (value.length < MIN_DIGEST_LENGTH || value.length > 512) return null;
  return { name, length: value.length, sha256: createHash("sha256").update(value).digest("hex") };
}

/**
 * Replaces the secrets known only by digest: every window of a secret's length inside a run of token
 * characters is hashed and compared. Only the raw form is found (not its base64 or URL-encoded forms).
 */
function digestRedaction(digests: readonly { name: string; length: number; sha256: string }[]): ((text: string) => string) | null {
  const byHash = new Map(digests.map((d) => [d.sha256, d.name]));
  const lengths = [...new Set(digests.map((d) => d.length))].sort((a, b) => b - a);
  if (!lengths.length) return null;
  const shortest = lengths.at(-1)!;
  const scan = (run: string): string => {
    if (run.length < shortest || run.length > MAX_SEARCHED_RUN) return run;
    for (const length of lengths) {
      for (let at = 0; at + length <= run.length; at++) {
        const name = byHash.get(createHash("sha256").update(run.slice(at, at + length)).digest("hex"));
        if (name) return run.slice(0, at) + `[redacted:${name}]` + scan(run.slice(at + length));
      }
    }
    return run;
  };
  return (text) => text.replace(TOKEN_RUN, scan);
}

/**
 * A redactor for `secrets` (variable name → value) and for `digests` (secrets this process may not
 * know, by length and SHA-256). Empty and too-short values are ignored.
 */
export function createRedactor(
  secrets: Readonly<Record<string, string | undefined>>,
  digests: readonly { name: string; length: number; sha256: string }[] = [],
): Redactor {
  const nameOf = new Map<string, string>();
  const names: string[] = [];
  const learn = (name: string, value: unknown): void => {
    if (typeof value !== "string" || value.length < MIN_REDACTED_LENGTH) return;
    if (!names.includes(name)) names.push(name);
    for (const form of formsOf(value)) if (!nameOf.has(form)) nameOf.set(form, name);
  };
  // Longest first, so a value that contains another is replaced whole.
  const compile = (): RegExp | null => {
    const forms = [...nameOf.keys()].sort((a, b) => b.length - a.length);
    return forms.length ? new RegExp(forms.map(escapeRegExp).join("|"), "g") : null;
  };
  for (const [name, value] of Object.entries(secrets)) learn(name, value);
  let pattern = compile();
  const byDigest = digestRedaction(digests);
  for (const d of digests) if (!names.includes(d.name)) names.push(d.name);

  const redact = (text: string): string => {
    if (typeof text !== "string") return text;
    const known = pattern ? text.replace(pattern, (match) => `[redacted:${nameOf.get(match)}]`) : text;
    return byDigest ? byDigest(known) : known;
  };

  const redactDeep = <T>(value: T): T => {
    if (!pattern && !byDigest) return value;
    const walk = (v: unknown): unknown => {
      if (typeof v === "string") return redact(v);
      if (Array.isArray(v)) return v.map(walk);
      if (v && typeof v === "object" && Object.getPrototypeOf(v) === Object.prototype) {
        return Object.fromEntries(Object.entries(v).map(([k, x]) => [redact(k), walk(x)]));
      }
      return v;
    };
    return walk(value) as T;
  };

  const add = (name: string, value: string): void => {
    const before = nameOf.size;
    learn(name, value);
    if (nameOf.size !== before) pattern = compile();
  };

  return { names, redact, redactDeep, add };
}

/** A redactor that changes nothing (no secrets known); `add` is ignored (it is shared). */
export const NO_REDACTION: Redactor = { ...createRedactor({}), add: () => undefined };
