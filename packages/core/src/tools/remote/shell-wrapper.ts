/**
 * Runs on the remote host as `python3 -c <this> <root> <command>`. Without a tty, sshd does not
 * signal a command when the client goes away; it only closes the command's stdin. So the wrapper
 * forwards its stdin to the command and treats end-of-input as "stop": it kills the command's
 * process group (SIGTERM, SIGKILL after 200 ms) and exits once the command is reaped (no zombie is left
 * to the remote init), which ends ssh: so the local side knows when the command is gone. Output is relayed through a pipe so background
 * children cannot hold the ssh channel open; when the command exits, what is left of its group is
 * stopped too (nothing could reach it later). Exit status: the command's, or 128 + signal. Its last
 * write, on stderr, is END_MARK: ssh exits 255 both for a lost connection and for a command that
 * exited 255, and only a finished wrapper sends the mark.
 */
export const SHELL_WRAPPER_SCRIPT = String.raw`
import os, sys, signal, subprocess, threading, time
root, command = os.path.expanduser(sys.argv[1]), sys.argv[2]
try: os.chdir(root)
except OSError as e:
    sys.stderr.write("starling: cannot enter the remote workspace %s: %s\n" % (root, e.strerror)); sys.exit(2)
shell = ["/bin/bash", "-c", command] if os.path.exists("/bin/bash") else ["/bin/sh", "-c", command]
child = subprocess.Popen(shell, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, start_new_session=True)
def stop_group():
    try: os.killpg(child.pid, signal.SIGTERM)
    except OSError: return
    for _ in range(20):
        time.sleep(0.01)
        try: os.killpg(child.pid, 0)
        except OSError: return
    try: os.killpg(child.pid, signal.SIGKILL)
    except OSError: pass
def relay_out():
    while True:
        chunk = os.read(child.stdout.fileno(), 65536)
        if not chunk: return
        os.write(1, chunk)
stopped = threading.Event()
def relay_in():
    while True:
        chunk = os.read(0, 65536)
        if not chunk: break
        try: child.stdin.write(chunk); child.stdin.flush()
        except OSError: pass
    stopped.set(); stop_group()
out = threading.Thread(target=relay_out, daemon=True); out.start()
threading.Thread(target=relay_in, daemon=True).start()
code = child.wait()
out.join(0.25)
stop_group()
if stopped.is_set(): os._exit(130)
os.write(2, b"\x1estarling-end\x1e")
os._exit(code if code >= 0 else 128 - code)
`;

/** What the wrapper writes on stderr just before it exits after the command ended. */
const END_MARK = Buffer.from("\x1estarling-end\x1e");

/** `chunk` (of the remote ssh's stderr) without END_MARK, or `null` when the mark is not in it. */
export function withoutEndMark(chunk: Buffer): Buffer | null {
  const at = chunk.indexOf(END_MARK);
  return at < 0 ? null : Buffer.concat([chunk.subarray(0, at), chunk.subarray(at + END_MARK.length)]);
}
