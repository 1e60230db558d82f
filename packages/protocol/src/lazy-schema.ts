import { z } from "zod";

/**
 * A schema (or a group of schemas) built on its first use instead of at module load. Every zod schema
 * made at load is part of the worker's start-up snapshot and is deserialised by every worker at start
 * (~20 heap objects each; docs/PERFORMANCE.md "Worker heap"), so schemas a fresh session rarely needs
 * (providers other than the configured one, optional config shapes) are declared with this:
 *
 *     const strategy = lazySchema(() => z.union([...]));
 *     type Strategy = z.infer<ReturnType<typeof strategy>>;
 *     strategy().safeParse(raw);
 *
 * The builder runs once; every call returns the same instance (zod's metadata registry and JSON Schema
 * conversion key on it).
 */
export function lazySchema<T>(build: () => T): () => T {
  let built: T | undefined;
  return () => (built ??= build());
}

/**
 * An optional field, of a schema made at load, whose own schema is built on its first present value
 * (`initialize.mcpServers`: most sessions have none). zod's public `z.lazy(build).optional()` builds it at
 * the first parse even without the field: an optional schema reads its inner schema's `optin` (does it
 * supply a default?) for an absent value, and a lazy schema answers from the schema it builds. So the lazy
 * schema's `optin` and `optout` (zod internals) are fixed here to what they are for any schema that is
 * neither optional nor defaulted, which the built schema is checked to be. test/lazy-schema.test.ts fails
 * when a zod release changes any of this.
 */
export function lazyOptional<T extends z.ZodType>(build: () => T): z.ZodOptional<z.ZodLazy<T>> {
  const lazy = z.lazy(() => {
    const built = build();
    if (built._zod.optin !== undefined || built._zod.optout !== undefined) throw new Error("lazyOptional: the built schema must be neither optional nor defaulted");
    return built;
  });
  for (const key of ["optin", "optout"] as const) Object.defineProperty(lazy._zod, key, { value: undefined, writable: true, configurable: true });
  return lazy.optional();
}

/** Release functions of the lazyArguments schemas built since beginSchemaWarmUp (null: not warming up). */
let warmUpBuilt: Array<() => void> | null = null;

/**
 * A tool's argument schema (a tool's `parameters`, a host action's payload), or the params of a request a
 * fresh worker rarely gets (`session/cancel`, `continue`, `query`): built on first use like lazySchema,
 * and, when first built during the snapshot's warm-up, dropped again by releaseWarmUpSchemas.
 * The model sees only the JSON Schema, which core's tool runtime caches as text keyed by this builder
 * function; the zod schema is needed again only when the tool is called (to validate its arguments).
 * Hence a builder is made once, at module level, and depends on nothing but its module's constants:
 * rebuilt, it is the same schema.
 */
export function lazyArguments<T>(build: () => T): () => T {
  let built: T | undefined;
  return () => {
    if (built === undefined) {
      built = build();
      warmUpBuilt?.push(() => (built = undefined));
    }
    return built;
  };
}

/** The snapshot's warm-up starts: lazyArguments schemas built from now on are released by releaseWarmUpSchemas. */
export function beginSchemaWarmUp(): void {
  warmUpBuilt = [];
}

/** Forgets the lazyArguments schemas built since beginSchemaWarmUp (so the snapshot does not hold them); returns how many. */
export function releaseWarmUpSchemas(): number {
  const released = warmUpBuilt ?? [];
  for (const release of released) release();
  warmUpBuilt = null;
  return released.length;
}
