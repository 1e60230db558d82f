import { readdirSync } from "node:fs";
import { isAbsolute, join, normalize } from "node:path";

/** System folders bound read-only into the bubblewrap sandbox (symlinks such as /bin → usr/bin are recreated as links). */
export const SANDBOX_SYSTEM_DIRS = ["/usr", "/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32", "/etc"] as const;
/** DNS through systemd-resolved: /etc/resolv.conf often links here; bound read-only too. */
export const SANDBOX_RESOLVER_DIR = "/run/systemd/resolve";

/**
 * Secrets commonly kept under the bound system folders, hidden from every bubblewrap tool process
 * (masked where they exist: a file by an empty one, a folder by an empty read-only one). Readable
 * there only by root, which is how many people run Starling (a container, a VPS). Whole folders
 * where they hold nothing a tool needs; only the private keys where the rest is public.
 */
export const WELL_KNOWN_SECRET_PATHS: readonly string[] = [
  // Password hashes and their backups.
  "/etc/shadow",
  "/etc/shadow-",
  "/etc/gshadow",
  "/etc/gshadow-",
  "/etc/security/opasswd",
  "/etc/sudoers",
  "/etc/sudoers.d",
  // TLS and certificate keys (Debian, RHEL, certbot: live/ links into archive/, keys/ and accounts/ are keys too).
  "/etc/ssl/private",
  "/etc/pki/tls/private",
  "/etc/letsencrypt",
  // VPN and network credentials.
  "/etc/wireguard",
  "/etc/openvpn",
  "/etc/ipsec.secrets",
  "/etc/ipsec.d/private",
  "/etc/ppp/chap-secrets",
  "/etc/ppp/pap-secrets",
  "/etc/NetworkManager/system-connections",
  "/etc/wpa_supplicant",
  // Cluster admin credentials, Kerberos keys, systemd credentials, a database's maintenance password.
  "/etc/kubernetes",
  "/etc/rancher",
  "/etc/krb5.keytab",
  "/etc/credstore",
  "/etc/credstore.encrypted",
  "/etc/mysql/debian.cnf",
  // Other Starling env files (the one the host was started with is hidden anyway).
  "/etc/starling",
];

/** sshd's host private keys: `/etc/ssh/ssh_host_*_key` (the `.pub` files stay readable). */
const SSH_HOST_KEYS = { dir: "/etc/ssh", name: /^ssh_host_.*_key$/ };

/** The well-known secret paths that exist now, the sshd host keys listed from their folder. */
export function wellKnownSecretPaths(): string[] {
  let keys: string[] = [];
  try {
    keys = readdirSync(SSH_HOST_KEYS.dir).filter((n) => SSH_HOST_KEYS.name.test(n)).map((n) => join(SSH_HOST_KEYS.dir, n));
  } catch {
    /* no sshd here */
  }
  return [...WELL_KNOWN_SECRET_PATHS, ...keys];
}

/** Folders bubblewrap tools cannot work without: hiding one (or a folder holding one) would break every command. */
const NEEDED_DIRS = [...SANDBOX_SYSTEM_DIRS, SANDBOX_RESOLVER_DIR, "/usr/bin", "/usr/sbin", "/usr/lib", "/usr/lib32", "/usr/lib64", "/usr/libexec"];

/**
 * Why `path` cannot be a `sandbox.hidden_paths` entry, or null when it can: it must be absolute and
 * must not be, or hold, a folder the sandbox needs (`/`, `/usr`, `/etc`, `/run`…).
 */
export function hiddenPathProblem(path: string): string | null {
  if (!isAbsolute(path)) return `"${path}" is not an absolute path; write it from the root, e.g. /etc/myapp/secret.env`;
  const clean = withoutTrailingSlash(normalize(path));
  const needed = NEEDED_DIRS.find((dir) => dir === clean || dir.startsWith(clean === "/" ? "/" : `${clean}/`));
  if (needed) {
    return `"${path}" would hide ${needed}, which every sandboxed command needs; name the secret files or folders inside it instead`;
  }
  return null;
}

/** `path` without its trailing slashes (`/` stays `/`). */
export function withoutTrailingSlash(path: string): string {
  return path.replace(/(.)\/+$/, "$1");
}
