/**
 * Sorted keys of the host mirror, one sorted array per key family (the key up to and including its
 * first ":"), so `list(prefix)` is a binary search plus the matching range instead of a scan and sort
 * of the whole mirror.
 */
export class KeyIndex {
  private readonly families = new Map<string, string[]>();

  add(key: string): void {
    const keys = this.familyOf(key, true);
    const at = lowerBound(keys, key);
    if (keys[at] !== key) keys.splice(at, 0, key);
  }

  delete(key: string): void {
    const keys = this.familyOf(key, false);
    if (!keys) return;
    const at = lowerBound(keys, key);
    if (keys[at] === key) keys.splice(at, 1);
  }

  /** Keys starting with `prefix`, in key order. */
  keysWithPrefix(prefix: string): string[] {
    const colon = prefix.indexOf(":");
    if (colon >= 0) return range(this.families.get(prefix.slice(0, colon + 1)) ?? [], prefix);
    // A prefix without ":" may span several families (rare: no caller lists that way today).
    const out: string[] = [];
    for (const [family, keys] of this.families) {
      if (family.startsWith(prefix) || family === "") out.push(...range(keys, prefix));
    }
    return out.sort();
  }

  /** How many keys start with `prefix` (a prefix with ":"; two binary searches, no copy). */
  count(prefix: string): number {
    const colon = prefix.indexOf(":");
    if (colon < 0) return this.keysWithPrefix(prefix).length;
    const keys = this.families.get(prefix.slice(0, colon + 1)) ?? [];
    const from = lowerBound(keys, prefix);
    // The keys with the prefix are contiguous from `from`: the first one without it ends them.
    let lo = from;
    let hi = keys.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (keys[mid]!.startsWith(prefix)) lo = mid + 1;
      else hi = mid;
    }
    return lo - from;
  }

  private familyOf(key: string, create: true): string[];
  private familyOf(key: string, create: false): string[] | undefined;
  private familyOf(key: string, create: boolean): string[] | undefined {
    const colon = key.indexOf(":");
    const family = colon >= 0 ? key.slice(0, colon + 1) : "";
    let keys = this.families.get(family);
    if (!keys && create) this.families.set(family, (keys = []));
    return keys;
  }
}

function lowerBound(keys: string[], key: string): number {
  let lo = 0;
  let hi = keys.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (keys[mid]! < key) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

function range(keys: string[], prefix: string): string[] {
  const out: string[] = [];
  for (let i = lowerBound(keys, prefix); i < keys.length && keys[i]!.startsWith(prefix); i++) out.push(keys[i]!);
  return out;
}
