import ipaddr from "ipaddr.js";

/**
 * Which addresses `web_fetch` and downloads may connect to (ARCHITECTURE §6 `tools.web_private_networks`).
 * Only global unicast addresses are allowed unless `allowPrivate` is set; `trusted` lists exact
 * addresses allowed anyway (embedders and tests that serve from loopback while keeping the rule on).
 */
export interface AddressPolicy {
  allowPrivate: boolean;
  trusted?: readonly string[];
}

/** Why `address` may not be reached under `policy`, or null when it may. */
export function blockedReason(address: string, policy: AddressPolicy): string | null {
  if (policy.allowPrivate) return null;
  if (!ipaddr.isValid(address)) return `${address} is not an IP address`;
  let parsed = ipaddr.parse(address);
  // ::ffff:10.0.0.1 reaches 10.0.0.1: judge the IPv4 address it maps to.
  if (parsed.kind() === "ipv6" && (parsed as ipaddr.IPv6).isIPv4MappedAddress()) {
    parsed = (parsed as ipaddr.IPv6).toIPv4Address();
  }
  if (policy.trusted?.some((t) => ipaddr.isValid(t) && ipaddr.parse(t).toString() === parsed.toString())) return null;
  const range = parsed.range();
  if (range === "unicast") return null;
  return `${address} is a ${RANGE_NAMES[range] ?? `${range} (non-public)`} address`;
}

const RANGE_NAMES: Record<string, string> = {
  loopback: "loopback",
  private: "private-network",
  linkLocal: "link-local",
  uniqueLocal: "private-network (unique local)",
  unspecified: "unspecified",
  carrierGradeNat: "carrier-grade NAT",
  multicast: "multicast",
  broadcast: "broadcast",
  reserved: "reserved",
  ipv4Mapped: "IPv4-mapped",
  rfc6145: "translated",
  rfc6052: "NAT64",
  "6to4": "6to4",
  teredo: "Teredo",
};

/** A connection refused by the address policy; names the host, the address and the config switch. */
export class BlockedAddressError extends Error {
  override readonly name = "BlockedAddressError";
  constructor(
    readonly host: string,
    readonly reason: string,
  ) {
    super(
      `${host} was not contacted: ${reason}. Loopback, private and link-local addresses are blocked ` +
        `(set tools.web_private_networks to true in the config to allow them).`,
    );
  }
}

/** The address in a URL hostname when it is an IP literal (`[::1]` → `::1`), else null. */
export function literalAddress(hostname: string): string | null {
  const bare = hostname.startsWith("[") && hostname.endsWith("]") ? hostname.slice(1, -1) : hostname;
  return ipaddr.isValid(bare) && (bare.includes(":") || ipaddr.IPv4.isValidFourPartDecimal(bare)) ? bare : null;
}
