#!/usr/bin/env python3
"""Embed a Starling worker from Python (standard library only).

Starts `starling-worker`, speaks JSON-RPC 2.0 with Content-Length framing over its stdio,
sends one message and prints the session events until the turn ends. See README.md and
docs/protocol.md. Usage: embed.py [--worker PATH] [--workspace DIR] [--trace] MESSAGE...
"""
import argparse, json, os, shutil, subprocess, sys, tempfile, time
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
DURABLE = {"turn_completed", "turn_failed", "turn_cancelled", "turn_superseded", "turn_recovered"}
TURN_ENDS = {"turn_completed", "turn_failed", "turn_cancelled"}


class RpcError(Exception):
    def __init__(self, error):
        super().__init__(f"{error['code']}: {error['message']}")
        self.error = error


class Worker:
    """One worker process and the JSON-RPC connection over its stdin/stdout."""

    def __init__(self, command, trace=False):
        env = {"STARLING_LOG_LEVEL": "warn", **os.environ}  # stderr: pino JSON lines
        self.proc = subprocess.Popen(command, stdin=subprocess.PIPE, stdout=subprocess.PIPE, env=env)
        self.trace, self.next_id, self.pending = trace, 1, []

    def send(self, message):
        body = json.dumps(message, separators=(",", ":")).encode("utf-8")
        if self.trace:
            print("-->", body.decode(), file=sys.stderr)
        self.proc.stdin.write(b"Content-Length: %d\r\n\r\n" % len(body) + body)
        self.proc.stdin.flush()

    def read(self):
        length = None
        while True:  # header lines up to an empty line
            line = self.proc.stdout.readline()
            if not line:
                raise EOFError("the worker closed its stdout")
            line = line.strip()
            if not line:
                break
            name, _, value = line.decode("ascii").partition(":")
            if name.lower() == "content-length":
                length = int(value)
        body = self.proc.stdout.read(length)
        if self.trace:
            print("<--", body.decode("utf-8"), file=sys.stderr)
        return json.loads(body)

    def request(self, method, params):
        """Sends a request and waits for its response; messages arriving meanwhile are kept in order."""
        rid, self.next_id = self.next_id, self.next_id + 1
        self.send({"jsonrpc": "2.0", "id": rid, "method": method, "params": params})
        while True:
            message = self.read()
            if message.get("id") == rid and "method" not in message:
                if "error" in message:
                    raise RpcError(message["error"])
                return message["result"]
            self.pending.append(message)

    def next_message(self):
        return self.pending.pop(0) if self.pending else self.read()


def model_config():
    """A ModelConfig as in the Starling config file (snake_case); OpenAI-compatible chat completions."""
    config = {
        "provider_type": "open_router_completion",
        "url": os.environ.get("STARLING_MODEL_URL", "https://api.openai.com/v1/chat/completions"),
        "model_name": os.environ.get("STARLING_MODEL_NAME", "gpt-4o-mini"),
        "capabilities": ["chat"],
    }
    key_env = os.environ.get("STARLING_MODEL_KEY_ENV", "OPENAI_API_KEY")
    if key_env:  # the worker reads the key from this variable; empty: the server needs no key
        config["api_key_env"] = key_env
    return config


def text_of(content):
    return "\n".join(item["text"] for item in content if item.get("type") == "text")


def main():
    parser = argparse.ArgumentParser(description="Send one message to a Starling worker.")
    parser.add_argument("message", nargs="+", help="the user message")
    parser.add_argument("--worker", default=str(REPO / "packages/worker/dist/main.js"), help="worker main.js")
    parser.add_argument("--workspace", help="workspace folder (default: a temporary one, removed afterwards)")
    parser.add_argument("--trace", action="store_true", help="print every JSON-RPC frame to stderr")
    args = parser.parse_args()
    sys.stdout.reconfigure(line_buffering=True)  # show events as they arrive, even through a pipe
    workspace = os.path.abspath(args.workspace) if args.workspace else tempfile.mkdtemp(prefix="starling-embed-")
    os.makedirs(workspace, exist_ok=True)  # the worker refuses a workspace that does not exist
    worker = Worker(["node", args.worker], trace=args.trace)
    status = 1
    try:
        info = worker.request("initialize", {
            "protocolVersion": 1, "sessionId": "embed-python.foreground", "sessionType": "foreground",
            "workspace": workspace, "model": model_config()})
        print(f"initialized: history {info['historyLength']}, next turn {info['nextTurnId']}")
        message_id = f"py-{os.getpid()}-{int(time.time() * 1000)}"
        worker.request("session/enqueue", {"messageId": message_id, "kind": "user", "message": {
            "role": "user", "userName": "embed.py", "content": [{"type": "text", "text": " ".join(args.message)}]}})
        processed = info["lastAckedSeq"]
        while True:
            message = worker.next_message()
            if message.get("method") == "host/coordinate":  # a tool asks the host to act: not supported here
                action = message["params"]["action"]
                worker.send({"jsonrpc": "2.0", "id": message["id"],
                             "result": {"ok": False, "error": f"embed.py does not handle {action}"}})
                continue
            if message.get("method") != "session/event":
                continue  # e.g. $/cancelRequest for a coordinate call
            seq, event = message["params"]["seq"], message["params"]["event"]
            if seq <= processed:
                continue  # a re-sent event we already handled
            details = {k: v for k, v in event.items() if k != "type"}
            print(f"event {seq} {event['type']} {json.dumps(details)[:160]}")
            if event["type"] in DURABLE:
                worker.request("session/ackEvents", {"upTo": seq})
                processed = seq
            if event["type"] == "turn_completed":
                print("\nassistant:", text_of(event["message"]["content"]))
                status = 0
            elif event["type"] == "turn_failed":
                print(f"\nturn failed ({event['error']['kind']}): {event['error']['message']}")
            if event["type"] in TURN_ENDS:
                break
        worker.request("shutdown", {})
    except RpcError as err:
        print(f"worker error {err}: {json.dumps(err.error.get('data'))}", file=sys.stderr)
    except EOFError:
        print("the worker exited unexpectedly (see its log lines above)", file=sys.stderr)
    finally:
        worker.proc.stdin.close()  # a worker exits when its stdin closes
        try:
            worker.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            worker.proc.kill()
        if not args.workspace:
            shutil.rmtree(workspace, ignore_errors=True)
    return status


if __name__ == "__main__":
    sys.exit(main())
