/**
 * The file-op helper run on the remote host as `python3 -c <this script> <heartbeat seconds>`, with one JSON request
 * on stdin and one JSON answer on stdout; while it works it writes ALIVE_BYTE (ssh.ts) on stderr at every heartbeat,
 * so a long walk or grep is told apart from a connection that forwards nothing (runSsh's answerLimitS). It only gathers and writes data; the result texts are
 * formatted locally by the same code as local tools. Why Python: it is on nearly every Linux host,
 * does realpath/walk/regex/UTF-8 checks in a few lines, and its JSON is exact (the reference uses
 * `python3 -` over ssh for the same reason). Paths are confined on the remote side: the lexical path
 * and its realpath must both lie inside the root (the fixed path, or the remote home).
 *
 * A function, so that only a worker with a remote workspace makes the text (as a constant it was in every
 * worker's start-up snapshot, twice: the string and its template's raw copy).
 */
export function helperScript(): string {
  return String.raw`
import sys, os, json, re, codecs, stat as st, threading, time
def beat(every):
    while True:
        time.sleep(every); os.write(2, b"\x06")
if len(sys.argv) > 1: threading.Thread(target=beat, args=(float(sys.argv[1]),), daemon=True).start()
SKIP = {".git", "node_modules", ".starling", ".output"}
UNEXPANDED = {"node_modules", "__pycache__", "target", "dist", "build", "coverage", "venv"}
class Err(Exception):
    def __init__(self, kind, message):
        Exception.__init__(self, message); self.kind = kind
def inside(p, root):
    return p == root or p.startswith(root.rstrip("/") + "/")
def rel_of(p, root):
    return "." if p == root else p[len(root.rstrip("/")) + 1:]
def root_of(req):
    r = os.path.expanduser(req.get("root") or "~")
    if not os.path.isdir(r):
        raise Err("not_found", "The remote folder %s does not exist (or is not a folder); create it or choose another path with /remote." % r)
    return os.path.abspath(r), os.path.realpath(r)
def resolve(req, path, write=False):
    lex_root, real_root = root_of(req)
    raw = path if path.strip() else "."
    if raw.startswith("~"): raw = os.path.expanduser(raw)
    lex = os.path.normpath(os.path.join(lex_root, raw))
    if inside(lex, lex_root): rel = rel_of(lex, lex_root)
    elif inside(lex, real_root): rel = rel_of(lex, real_root)
    else: raise Err("path_escape", "Path %s resolves to %s, which is outside the remote workspace %s. Use a path inside it (relative paths are relative to it)." % (json.dumps(path), lex, real_root))
    real = os.path.realpath(os.path.join(real_root, rel))
    if not inside(real, real_root):
        raise Err("path_escape", "Path %s goes through a symlink to %s, which is outside the remote workspace %s." % (json.dumps(path), real, real_root))
    if write and (rel == ".starling" or rel.startswith(".starling/")):
        raise Err("path_escape", "Path %s is inside .starling/; tools may not write there." % json.dumps(path))
    return real, rel
def must_exist(abs_, disp):
    if not os.path.exists(abs_): raise Err("not_found", "%s does not exist. Check the path (ls or glob can help); relative paths are relative to the remote workspace." % disp)
def text_of(data, disp, what):
    if b"\0" in data[:8192]: raise Err("failed", "%s looks like a binary file (it contains NUL bytes); %s only reads text." % (disp, what))
    try: return data.decode("utf-8")
    except UnicodeDecodeError: raise Err("failed", "%s is not valid UTF-8 text; %s only reads UTF-8." % (disp, what))
def op_resolve(req):
    abs_, disp = resolve(req, req["path"], req.get("write", False))
    info = None
    if os.path.exists(abs_):
        s = os.stat(abs_); info = {"isDir": st.S_ISDIR(s.st_mode), "size": s.st_size, "mtimeMs": s.st_mtime * 1000}
    return {"abs": abs_, "display": disp, "info": info}
def op_read(req):
    abs_, disp = resolve(req, req["path"]); must_exist(abs_, disp)
    if os.path.isdir(abs_): raise Err("failed", "%s is a directory, not a file; use ls or glob to list it." % disp)
    start, limit, clip = req["start"], req["limit"], req.get("clip", 2000)
    if os.path.getsize(abs_) > req["whole"]:
        # Large files are streamed (and not UTF-8 checked), as locally; a line is read in 64 KiB
        # pieces and only its first clip characters are kept, so no line is ever held whole.
        total, window, cut = 0, [], []
        with open(abs_, "rb") as f:
            while True:
                piece = f.readline(65536)
                if not piece: break
                total += 1
                keep = total >= start and len(window) < limit
                dec, text, n, prev = codecs.getincrementaldecoder("utf-8")("replace"), "", 0, b""
                while True:
                    if keep:
                        s = dec.decode(piece); n += len(s)
                        if len(text) < clip + 2: text += s[:clip + 2 - len(text)]
                    if piece.endswith(b"\n"): break
                    prev, piece = piece, f.readline(65536)
                    if not piece: break
                if not keep: continue
                n += len(dec.decode(b"", True))
                if piece.endswith(b"\n"):
                    n -= 1
                    if piece.endswith(b"\r\n") or (piece == b"\n" and prev.endswith(b"\r")): n -= 1
                window.append(text[:min(n, clip)]); cut.append(max(0, n - clip))
        return {"display": disp, "total": total, "lines": window, "cut": cut}
    with open(abs_, "rb") as f: text = text_of(f.read(), disp, "file_read")
    lines = text.split("\n")
    if lines and lines[-1] == "": lines.pop()
    window = [l[:-1] if l.endswith("\r") else l for l in lines[start - 1:start - 1 + limit]]
    return {"display": disp, "total": len(lines), "lines": [l[:clip] for l in window], "cut": [max(0, len(l) - clip) for l in window]}
def op_read_texts(req):
    out, most = [], req.get("max")
    for abs_ in req["paths"]:
        if not os.path.exists(abs_): out.append(None); continue
        if os.path.isdir(abs_): raise Err("failed", "%s is a directory, not a file." % abs_)
        if most is not None and os.path.getsize(abs_) > most:
            raise Err("failed", req["too_large"].replace("{size}", str(os.path.getsize(abs_))))
        with open(abs_, "rb") as f: out.append(f.read().decode("utf-8"))
    return {"texts": out}
def op_write(req):
    for w in req["writes"]:
        abs_ = w["abs"]
        if w["content"] is None:
            if os.path.lexists(abs_): os.remove(abs_)
            continue
        if os.path.isdir(abs_): raise Err("failed", "%s is a directory; give a file path." % abs_)
        os.makedirs(os.path.dirname(abs_), exist_ok=True)
        with open(abs_, "a" if w.get("append") else "w", encoding="utf-8", newline="") as f: f.write(w["content"])
        if w.get("mode"): os.chmod(abs_, int(w["mode"], 8))
    return {}
def op_walk(req):
    abs_, disp = resolve(req, req["path"]); must_exist(abs_, disp)
    if not os.path.isdir(abs_): return {"display": disp, "abs": abs_, "isDir": False, "files": [[abs_, "", os.stat(abs_).st_size, os.stat(abs_).st_mtime * 1000]], "visited": 1, "cut": False}
    files, stack, visited, cut = [], [(abs_, "")], 0, False
    while stack and not cut:
        d, rel = stack.pop()
        try: names = sorted(os.listdir(d))
        except OSError: continue
        subs = []
        for n in names:
            visited += 1
            if visited > req["max"]: cut = True; break
            p = os.path.join(d, n); r = rel + "/" + n if rel else n
            try: s = os.lstat(p)
            except OSError: continue
            if st.S_ISDIR(s.st_mode):
                if n not in SKIP: subs.append((p, r))
            elif st.S_ISREG(s.st_mode): files.append([p, r, s.st_size, s.st_mtime * 1000])
        stack.extend(reversed(subs))
    return {"display": disp, "abs": abs_, "isDir": True, "files": files, "visited": visited, "cut": cut}
def op_grep(req):
    src, flags = req["pattern"], 0
    if src.startswith("(?i)"): src, flags = src[4:], re.I
    try: rx = re.compile(src, flags)
    except re.error as e: raise Err("invalid_arguments", "Invalid regex pattern %s: %s. Escape special characters such as ( [ { with a backslash." % (json.dumps(req["pattern"]), e))
    matches, more = [], False
    for abs_, disp in req["files"]:
        try:
            with open(abs_, "rb") as f: data = f.read()
            if b"\0" in data[:8192]: continue
            text = data.decode("utf-8")
        except (OSError, UnicodeDecodeError): continue
        for i, line in enumerate(text.split("\n")):
            if line.endswith("\r"): line = line[:-1]
            if rx.search(line):
                if len(matches) >= req["max"]: more = True; break
                matches.append([disp, i + 1, line])
        if more: break
    return {"matches": matches, "more": more}
def op_ls(req):
    abs_, disp = resolve(req, req["path"]); must_exist(abs_, disp)
    if not os.path.isdir(abs_): raise Err("failed", "%s is not a directory; use file_read to read a file." % disp)
    lines, limit = [], req["max"]
    def walk(d, depth):
        try: names = sorted(os.listdir(d))
        except OSError: return False
        for n in names:
            if n.startswith("."): continue
            if len(lines) >= limit: return True
            p, ind = os.path.join(d, n), "  " * depth
            if os.path.islink(p): lines.append("%s- %s@%s" % (ind, n, "/" if os.path.isdir(p) else ""))
            elif os.path.isdir(p):
                lines.append("%s- %s/%s" % (ind, n, " (not expanded)" if n in UNEXPANDED else ""))
                if n not in UNEXPANDED and walk(p, depth + 1): return True
            else: lines.append("%s- %s" % (ind, n))
        return False
    return {"display": disp, "lines": lines, "truncated": walk(abs_, 1)}
OPS = {"resolve": op_resolve, "read": op_read, "read_texts": op_read_texts, "write": op_write, "walk": op_walk, "grep": op_grep, "ls": op_ls}
try:
    req = json.loads(sys.stdin.buffer.read().decode("utf-8"))
    res = OPS[req["op"]](req); res["ok"] = True
except Err as e: res = {"ok": False, "kind": e.kind, "message": str(e)}
except UnicodeDecodeError as e: res = {"ok": False, "kind": "failed", "message": "A file is not valid UTF-8 text: %s" % e}
except FileNotFoundError as e: res = {"ok": False, "kind": "not_found", "message": "%s does not exist." % e.filename}
except PermissionError as e: res = {"ok": False, "kind": "failed", "message": "Permission denied for %s." % e.filename}
except OSError as e: res = {"ok": False, "kind": "failed", "message": "%s: %s" % (e.filename or "remote file operation", e.strerror)}
sys.stdout.write(json.dumps(res))
`;
}
