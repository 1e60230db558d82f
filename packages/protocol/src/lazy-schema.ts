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

/** Release functions of the lazyArguments schemas built since beginSchemaWarmUp (null: not warming up). */
let warmUpBuilt: Array<() => void> | null = null;

/**
 * A tool's argument schema (a tool's `parameters`, a host action's payload): built on first use like
 * lazySchema, and, when first built during the snapshot's warm-up, dropped again by releaseWarmUpSchemas.
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
