import { type ChildProcess, execFileSync, spawn, spawnSync } from "node:child_process";
import { appendFileSync, existsSync, mkdirSync, mkdtempSync, realpathSync, rmSync, writeFileSync } from "node:fs";
import { connect } from "node:net";
import { freePort } from "./free-port.js";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";

/**
 * A real OpenSSH server on 127.0.0.1, run as the current user with its own host key and an
 * authorized key made for the test, plus an ssh_config with two aliases: `testbox` (this server)
 * and `deadbox` (a loopback port where nothing listens). Point Starling at the config with
 * STARLING_SSH_CONFIG. Not a fake: the edge it stands in for is a remote machine.
 */
export interface LoopbackSshd {
  /** ssh_config file defining `testbox` and `deadbox`. */
  configFile: string;
  /** A private folder for the test: keys, config, `remote/` to use as remote path, `home/` (the remote user's HOME). */
  dir: string;
  port: number;
  /**
   * Sends `signal` to the server's per-connection processes; the listener stays. SIGKILL ends the connections as
   * a dropped network would; SIGSTOP makes them stop answering, as a silent partition would (SIGCONT resumes).
   */
  signalConnections(signal: NodeJS.Signals): void;
  /** Adds a Host alias for this server reached through another loopback `port` (a proxy in front of it). */
  addAlias(alias: string, port: number): void;
  stop(): Promise<void>;
}

export const SSHD_BINARY = "/usr/sbin/sshd";

async function listening(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect(port, "127.0.0.1");
    socket.once("connect", () => {
      socket.destroy();
      resolve(true);
    });
    socket.once("error", () => resolve(false));
  });
}

/** Starts the server, or returns why it cannot run here (the caller skips with that reason). */
export async function startLoopbackSshd(): Promise<LoopbackSshd | { skip: string }> {
  if (!existsSync(SSHD_BINARY)) return { skip: `${SSHD_BINARY} not found (apt-get install openssh-server)` };
  if (spawnSync("ssh", ["-V"]).status !== 0) return { skip: "the ssh client is not installed" };
  if (spawnSync("python3", ["-c", "0"]).status !== 0) return { skip: "python3 is not installed (the remote helper needs it)" };
  // sshd started by root insists on its privilege separation folder.
  if (process.getuid?.() === 0) mkdirSync("/run/sshd", { recursive: true, mode: 0o755 });
  const dir = realpathSync(mkdtempSync(join(tmpdir(), "starling-sshd-")));
  const keygen = (file: string): void => {
    execFileSync("ssh-keygen", ["-q", "-t", "ed25519", "-N", "", "-f", join(dir, file)]);
  };
  keygen("host_key");
  keygen("user_key");
  execFileSync("cp", [join(dir, "user_key.pub"), join(dir, "authorized_keys")]);
  const port = await freePort();
  // Port 1 (tcpmux, long unused): a port freed by freePort() could be taken meanwhile by another test file's sshd or
  // server (seen: "Connection closed by remote host" instead of a refusal), and only root could listen on port 1.
  const deadPort = 1;
  writeFileSync(
    join(dir, "sshd_config"),
    [
      `Port ${port}`,
      "ListenAddress 127.0.0.1",
      `HostKey ${join(dir, "host_key")}`,
      `AuthorizedKeysFile ${join(dir, "authorized_keys")}`,
      `PidFile ${join(dir, "sshd.pid")}`,
      "StrictModes no",
      "UsePAM no",
      "PasswordAuthentication no",
      "KbdInteractiveAuthentication no",
      "PermitRootLogin prohibit-password",
      // The remote user's home is a test folder: selectable mode works there, and the real
      // ~/.bashrc (which bash runs for ssh commands) stays out of the test.
      `SetEnv HOME=${join(dir, "home")}`,
      "",
    ].join("\n"),
  );
  const hostBlock = (alias: string, p: number): string =>
    [
      `Host ${alias}`,
      "  HostName 127.0.0.1",
      `  Port ${p}`,
      `  IdentityFile ${join(dir, "user_key")}`,
      "  IdentitiesOnly yes",
      `  UserKnownHostsFile ${join(dir, "known_hosts")}`,
      "  StrictHostKeyChecking accept-new",
      "  LogLevel ERROR",
      "",
    ].join("\n");
  writeFileSync(join(dir, "ssh_config"), hostBlock("testbox", port) + hostBlock("deadbox", deadPort));
  mkdirSync(join(dir, "remote"));
  mkdirSync(join(dir, "home"));
  const child: ChildProcess = spawn(SSHD_BINARY, ["-D", "-e", "-f", join(dir, "sshd_config")], { stdio: ["ignore", "ignore", "pipe"], detached: true });
  let stderr = "";
  child.stderr?.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
  const deadline = Date.now() + 5_000;
  while (!(await listening(port))) {
    if (child.exitCode !== null || Date.now() > deadline) {
      child.kill("SIGKILL");
      rmSync(dir, { recursive: true, force: true });
      return { skip: `sshd could not start on loopback: ${stderr.trim().split("\n").slice(-2).join(" / ") || "no output"}` };
    }
    await sleep(30);
  }
  const configFile = join(dir, "ssh_config");
  return {
    configFile,
    dir,
    port,
    addAlias(alias, p) {
      appendFileSync(configFile, hostBlock(alias, p));
    },
    signalConnections(signal) {
      const listed = spawnSync("pgrep", ["-P", String(child.pid)], { encoding: "utf8" }).stdout;
      for (const pid of listed.split("\n").filter(Boolean).map(Number)) {
        try {
          process.kill(pid, signal);
        } catch {
          /* gone */
        }
      }
    },
    async stop() {
      // The whole group: the listener and its per-connection children (which end the sessions).
      try {
        if (child.pid) process.kill(-child.pid, "SIGKILL");
      } catch {
        /* gone */
      }
      await sleep(50);
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
