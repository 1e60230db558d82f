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
