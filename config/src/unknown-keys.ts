import type { z } from "zod";
import { formatPath } from "./issues.js";

/** The parts of zod's schema definitions this walker reads (stable in zod 4). */
interface Def {
  type: string;
  shape?: Record<string, z.core.$ZodType>;
  catchall?: z.core.$ZodType;
  innerType?: z.core.$ZodType;
  in?: z.core.$ZodType;
  element?: z.core.$ZodType;
  valueType?: z.core.$ZodType;
  options?: readonly z.core.$ZodType[];
  discriminator?: string;
  values?: readonly unknown[];
}

const defOf = (schema: z.core.$ZodType): Def => schema._zod.def as unknown as Def;

const WRAPPERS = new Set(["optional", "nullable", "default", "prefault", "nonoptional", "readonly", "catch"]);

/** Strips optional/default/pipe wrappers down to the schema that describes the value's shape. */
function unwrap(schema: z.core.$ZodType): z.core.$ZodType {
  let current = schema;
  for (;;) {
    const def = defOf(current);
    if (WRAPPERS.has(def.type) && def.innerType) current = def.innerType;
    else if (def.type === "pipe" && def.in) current = def.in;
    else return current;
  }
}

const isPlainObject = (value: unknown): value is Record<string, unknown> =>
  typeof value === "object" && value !== null && !Array.isArray(value);

function jsonKind(value: unknown): string {
  if (Array.isArray(value)) return "array";
  if (value === null) return "null";
  return typeof value === "object" ? "object" : typeof value;
}

/** For a union, the option whose shape fits the value (by discriminator, then by JSON type). */
function pickOption(def: Def, value: unknown): z.core.$ZodType | undefined {
  const options = (def.options ?? []).map(unwrap);
  if (def.discriminator && isPlainObject(value)) {
    const tag = value[def.discriminator];
    return options.find((option) => {
      const field = defOf(option).shape?.[def.discriminator ?? ""];
      return field !== undefined && (defOf(unwrap(field)).values ?? []).includes(tag);
    });
  }
  const kind = jsonKind(value);
  return options.find((option) => {
    const type = defOf(option).type;
    return type === kind || (kind === "object" && type === "record") || (kind === "number" && type === "int");
  });
}

/** Levenshtein distance, for "did you mean" hints on typos. */
function distance(a: string, b: string): number {
  const row = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    let previous = row[0] ?? 0;
    row[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const saved = row[j] ?? 0;
      row[j] = Math.min(saved + 1, (row[j - 1] ?? 0) + 1, previous + (a[i - 1] === b[j - 1] ? 0 : 1));
      previous = saved;
    }
  }
  return row[b.length] ?? 0;
}

function suggestion(key: string, known: readonly string[]): string {
  let best: string | undefined;
  let bestDistance = Infinity;
  for (const candidate of known) {
    const d = distance(key.toLowerCase(), candidate.toLowerCase());
    if (d < bestDistance) [best, bestDistance] = [candidate, d];
  }
  const limit = Math.max(1, Math.min(3, Math.floor(key.length / 3)));
  return best !== undefined && bestDistance <= limit ? `; did you mean "${best}"?` : "";
}

/** Keys that are known (Stellaclaw has them) but deliberately not used by Starling: a warning, not an error. */
const IGNORED_ON_PURPOSE: Record<string, string> = {
  bot_token:
    "a token in the config file is not used by Starling; put it in the environment variable named by bot_token_env (value ignored)",
};

export interface UnknownKeys {
  /** Keys no schema declares: a typo or a setting Starling does not have. Each would do nothing, so each stops the load. */
  errors: string[];
  /** Keys Starling knows and ignores on purpose (IGNORED_ON_PURPOSE). */
  warnings: string[];
}

function unknownKeyError(key: string, known: readonly string[], where: string): string {
  const hint = suggestion(key, known);
  if (hint) return `${where}: unknown key${hint} (a key Starling does not know does nothing: fix its name or remove it)`;
  const list = known.filter((k) => k !== "$schema");
  return `${where}: unknown key; Starling does not know it here, so it would do nothing: remove it (known here: ${list.join(", ")})`;
}

/**
 * Finds every key of `value` that `schema` does not declare, by full path. Unknown keys are errors (a
 * typo like `max_concurent_turns` would otherwise leave the default in force while the user believes it
 * changed), apart from the few Starling ignores on purpose, which are warnings.
 */
export function unknownKeys(schema: z.core.$ZodType, value: unknown, path: PropertyKey[] = [], out: UnknownKeys = { errors: [], warnings: [] }): UnknownKeys {
  const def = defOf(unwrap(schema));
  if (def.type === "object" && def.shape && isPlainObject(value)) {
    const known = Object.keys(def.shape);
    for (const [key, child] of Object.entries(value)) {
      const childSchema = def.shape[key];
      if (childSchema) {
        unknownKeys(childSchema, child, [...path, key], out);
        continue;
      }
      const where = formatPath([...path, key]);
      const special = IGNORED_ON_PURPOSE[key];
      if (special) out.warnings.push(`${where}: ${special}`);
      else out.errors.push(unknownKeyError(key, known, where));
    }
  } else if (def.type === "array" && def.element && Array.isArray(value)) {
    value.forEach((item, index) => unknownKeys(def.element as z.core.$ZodType, item, [...path, index], out));
  } else if (def.type === "record" && def.valueType && isPlainObject(value)) {
    for (const [key, child] of Object.entries(value)) unknownKeys(def.valueType, child, [...path, key], out);
  } else if (def.type === "union") {
    const option = pickOption(def, value);
    if (option) unknownKeys(option, value, path, out);
  }
  return out;
}
