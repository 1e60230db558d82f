import { closeSync, openSync, readFileSync, readSync, writeSync } from "node:fs";

/**
 * Removes secrets from this process's own `/proc/self/environ` (Linux). The variables are deleted
 * from `process.env`, and their values are overwritten with NUL bytes inside the kernel-reported
 * environment block [env_start, env_end) through `/proc/self/mem`, which a process may write for
 * itself. Without this, anything running as the same user could `cat /proc/<pid>/environ` and read
 * a token that systemd's EnvironmentFile or `TOKEN=… starling` put there.
 *
 * Returns how many occurrences were overwritten. Never throws: on a system without /proc it only
 * deletes the variables, and the caller documents what remains.
 */
export function scrubOwnEnviron(names: Iterable<string>, env: NodeJS.ProcessEnv = process.env): number {
  const values: Buffer[] = [];
  for (const name of names) {
    const value = env[name];
    if (value) values.push(Buffer.from(value, "utf8"));
    delete env[name];
  }
  if (values.length === 0) return 0;
  let fd: number | null = null;
  try {
    const stat = readFileSync("/proc/self/stat", "utf8");
    // Fields after the command name (which may contain spaces); proc(5) field N is at index N - 3.
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    const start = Number(fields[50 - 3]); // user-space addresses are below 2^47: exact as a number
    const end = Number(fields[51 - 3]);
    const length = end - start;
    if (!(length > 0 && length < 16 * 1024 * 1024)) return 0;
    fd = openSync("/proc/self/mem", "r+");
    const block = Buffer.alloc(length);
    readSync(fd, block, 0, length, start);
    let count = 0;
    for (const value of values) {
      for (let at = block.indexOf(value); at !== -1; at = block.indexOf(value, at + value.length)) {
        block.fill(0, at, at + value.length);
        count++;
      }
    }
    if (count > 0) writeSync(fd, block, 0, length, start);
    return count;
  } catch {
    return 0;
  } finally {
    if (fd !== null) closeSync(fd);
  }
}
