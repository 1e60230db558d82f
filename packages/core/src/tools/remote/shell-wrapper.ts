import { aliveIntervalS } from "./ssh.js";

/**
 * Runs on the remote host as `python3 -c <this> <root> <command> <silent seconds> <heartbeat seconds>`. Without a tty, sshd does not
 * signal a command when the client goes away; it only closes the command's stdin. So the wrapper
 * reads its stdin and treats end-of-input as "stop": it kills the command's process group (SIGTERM,
 * SIGKILL after 200 ms) and exits once the command is reaped (no zombie is left to the remote init),
 * which ends ssh: so the local side knows when the command is gone. A silent network partition closes
 * nothing, and the remote sshd may not notice it for hours (its ClientAlive settings are not ours to
 * set), so stdin carries frames (inputFrame, HEARTBEAT_FRAME): input for the command, relayed by a
 * thread of its own so a command that reads no input never stalls the reading, and a heartbeat the
 * worker sends every HEARTBEAT_MS; after `silent seconds` without a frame the wrapper says so in the
 * output and stops the command as at end-of-input. The other way, it writes ALIVE_BYTE (ssh.ts) on stderr at every
 * heartbeat, so the worker can tell a quiet command from a connection that forwards nothing (answerLimitS). Output is relayed through a pipe so background
 * children cannot hold the ssh channel open; when the command exits, what is left of its group is
 * stopped too (nothing could reach it later). Exit status: the command's, or 128 + signal. Its last
 * write, on stderr, is END_MARK: ssh exits 255 both for a lost connection and for a command that
 * exited 255, and only a finished wrapper sends the mark.
 *
 * A function, so that only a worker with a remote workspace makes the text (as a constant it was in every
 * worker's start-up snapshot, twice: the string and its template's raw copy).
 */
export function shellWrapperScript(): string {
  return String.raw`
import os, sys, signal, subprocess, threading, time, queue
root, command, silent, every = os.path.expanduser(sys.argv[1]), sys.argv[2], float(sys.argv[3]), float(sys.argv[4])
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
heard = [time.monotonic()]
feed = queue.Queue()
def read_frames():
    r = sys.stdin.buffer
    while True:
        kind = r.read(1)
        if kind == b"d":
            size = r.read(4)
            data = r.read(int.from_bytes(size, "big")) if len(size) == 4 else b""
            if len(size) < 4 or len(data) < int.from_bytes(size, "big"): break
            feed.put(data)
        elif kind != b"h": break
        heard[0] = time.monotonic()
    stopped.set(); stop_group()
def feed_command():
    while True:
        data = feed.get()
        try: child.stdin.write(data); child.stdin.flush()
        except OSError: pass
def watchdog():
    while not stopped.is_set():
        time.sleep(min(1.0, silent / 10))
        if time.monotonic() - heard[0] > silent:
            os.write(1, b"\n[starling: nothing heard from the worker for %d s (the connection went silent), so the command was stopped]\n" % silent)
            stopped.set(); stop_group(); return
ending = threading.Lock()
def beat():
    while True:
        time.sleep(every)
        with ending: os.write(2, b"\x06")
out = threading.Thread(target=relay_out, daemon=True); out.start()
for task in (read_frames, feed_command, watchdog, beat): threading.Thread(target=task, daemon=True).start()
code = child.wait()
out.join(0.25)
stop_group()
if stopped.is_set(): os._exit(130)
ending.acquire()
os.write(2, b"\x1estarling-end\x1e")
os._exit(code if code >= 0 else 128 - code)
`;
}

/** How often the worker sends HEARTBEAT_FRAME to a running remote command: a third of ssh's keepalive interval. */
export function heartbeatMs(env: NodeJS.ProcessEnv = process.env): number {
  return (aliveIntervalS(env) * 1000) / 3;
}

/** The frame that tells the wrapper the worker is still there. */
export const HEARTBEAT_FRAME = Buffer.from("h");

/** `data` framed for the wrapper's stdin: `d`, its length (4 bytes, big-endian), the bytes. */
export function inputFrame(data: Buffer): Buffer {
  const head = Buffer.alloc(5);
  head.write("d", 0);
  head.writeUInt32BE(data.length, 1);
  return Buffer.concat([head, data]);
}

/** What the wrapper writes on stderr just before it exits after the command ended. */
const END_MARK = Buffer.from("\x1estarling-end\x1e");

/** `chunk` (of the remote ssh's stderr) without END_MARK, or `null` when the mark is not in it. */
export function withoutEndMark(chunk: Buffer): Buffer | null {
  const at = chunk.indexOf(END_MARK);
  return at < 0 ? null : Buffer.concat([chunk.subarray(0, at), chunk.subarray(at + END_MARK.length)]);
}
