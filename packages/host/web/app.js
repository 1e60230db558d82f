// The Starling chat page: plain JS over the HTTP API (docs/web-api.md). Markdown via marked, sanitised by DOMPurify.
import { marked } from "/assets/marked.js";
import DOMPurify from "/assets/purify.js";

const $ = (id) => document.getElementById(id);
const state = { token: localStorage.getItem("starling-token") ?? "", conv: null, lastId: 0, firstId: null, stream: null, shown: new Set() };

async function api(path, options = {}) {
  const res = await fetch(path, { ...options, headers: { authorization: `Bearer ${state.token}`, ...(options.body ? { "content-type": "application/json" } : {}), ...options.headers } });
  if (res.status === 401) {
    showLogin("The token was refused.");
    throw new Error("unauthorized");
  }
  if (res.status === 204) return null;
  const body = await res.json();
  if (!res.ok && res.status !== 429) throw new Error(body?.error?.message ?? `HTTP ${res.status}`);
  return body;
}

function showLogin(message = "") {
  $("app").hidden = true;
  $("login").hidden = false;
  $("login-error").textContent = message;
}

$("login").addEventListener("submit", (e) => {
  e.preventDefault();
  state.token = $("token").value.trim();
  localStorage.setItem("starling-token", state.token);
  void boot();
});

async function boot() {
  if (!state.token) return showLogin();
  const [{ models }, { conversations }] = await Promise.all([api("/api/models"), api("/api/conversations")]);
  $("login").hidden = true;
  $("app").hidden = false;
  $("model").replaceChildren(...models.map((m) => new Option(`${m.alias} (${m.model})`, m.alias)));
  renderList(conversations);
  const wanted = location.hash.slice(1);
  const pick = conversations.find((c) => c.id === wanted) ?? conversations[0];
  if (pick) await open(pick.id);
}

function renderList(conversations) {
  $("conversations").replaceChildren(
    ...conversations.map((c) => {
      const li = document.createElement("li");
      li.textContent = c.title;
      li.title = `${c.id} · ${c.model ?? "no model"}`;
      li.dataset.id = c.id;
      li.classList.toggle("active", c.id === state.conv);
      li.addEventListener("click", () => void open(c.id));
      return li;
    }),
  );
}

async function refreshList() {
  renderList((await api("/api/conversations")).conversations);
}

$("new").addEventListener("click", async () => {
  const created = await api("/api/conversations", { method: "POST", body: JSON.stringify({ model: $("model").value, title: `Chat ${new Date().toLocaleString()}` }) });
  await refreshList();
  await open(created.conversation_id);
});

$("model").addEventListener("change", async () => {
  if (state.conv) await api(`/api/conversations/${state.conv}`, { method: "PATCH", body: JSON.stringify({ model: $("model").value }) });
  await refreshList();
});

async function open(id) {
  state.stream?.abort();
  state.conv = id;
  state.lastId = 0;
  state.firstId = null;
  state.shown = new Set();
  location.hash = id;
  for (const li of $("conversations").children) li.classList.toggle("active", li.dataset.id === id);
  const current = (await api("/api/conversations")).conversations.find((c) => c.id === id);
  $("title").textContent = current ? `${current.title} — ${current.model ?? "pick a model"}` : id;
  if (current?.model) $("model").value = current.model;
  $("messages").replaceChildren($("older"));
  $("progress").hidden = true;
  const page = await api(`/api/conversations/${id}/messages?limit=100`);
  for (const e of page.messages) show(e);
  $("older").hidden = !page.has_more_before;
  void follow(id);
}

$("older").addEventListener("click", async () => {
  const page = await api(`/api/conversations/${state.conv}/messages?before=${state.firstId}&limit=100`);
  const anchor = $("older").nextSibling;
  for (const e of page.messages) show(e, anchor);
  $("older").hidden = !page.has_more_before;
});

function show(e, before = null) {
  if (state.shown.has(e.id)) return;
  state.shown.add(e.id);
  state.lastId = Math.max(state.lastId, e.id);
  state.firstId = state.firstId === null ? e.id : Math.min(state.firstId, e.id);
  const div = document.createElement("div");
  div.className = `msg ${e.kind}${e.turnEnd && e.turnEnd.outcome !== "completed" ? " failed" : ""}`;
  div.dataset.id = e.id;
  if (e.kind === "user") div.textContent = e.text;
  else if (e.kind === "file") {
    const a = document.createElement("a");
    a.href = "#";
    a.className = "file";
    a.textContent = `📎 ${e.text}`;
    a.addEventListener("click", (ev) => {
      ev.preventDefault();
      void download(e.path);
    });
    div.append(a);
    if (IMAGE.test(e.path)) void preview(div, e.path);
  } else div.innerHTML = DOMPurify.sanitize(marked.parse(e.text));
  const actions = document.createElement("div");
  actions.className = "actions";
  for (const row of e.buttons ?? []) for (const b of row) actions.append(button(b.text, () => api(`/api/conversations/${state.conv}/callback`, { method: "POST", body: JSON.stringify({ data: b.data }) })));
  if (e.turnEnd?.canContinue) actions.append(button("Continue", () => control("continue")));
  if (actions.children.length) div.append(actions);
  const list = $("messages");
  const scrolled = list.scrollHeight - list.scrollTop - list.clientHeight < 40;
  if (e.turnEnd || e.kind === "assistant") $("live")?.remove();
  if (before) list.insertBefore(div, before);
  else if ($("live")) list.insertBefore(div, $("live"));
  else list.append(div);
  if (!before && scrolled) list.scrollTop = list.scrollHeight;
}

function button(text, onClick) {
  const b = document.createElement("button");
  b.type = "button";
  b.textContent = text;
  b.addEventListener("click", () => void onClick());
  return b;
}

const IMAGE = /\.(png|jpe?g|gif|webp)$/i;

function fileBlob(path) {
  return fetch(`/api/conversations/${state.conv}/workspace/file?path=${encodeURIComponent(path)}`, { headers: { authorization: `Bearer ${state.token}` } });
}

/** An image attachment is shown too (fetched with the token, so as a blob: URL). */
async function preview(div, path) {
  const res = await fileBlob(path);
  if (!res.ok) return;
  const img = Object.assign(document.createElement("img"), { src: URL.createObjectURL(await res.blob()), alt: path.split("/").pop() });
  div.append(img);
}

async function download(path) {
  const res = await fileBlob(path);
  if (!res.ok) return alert(`Download failed: HTTP ${res.status}`);
  const url = URL.createObjectURL(await res.blob());
  const a = Object.assign(document.createElement("a"), { href: url, download: path.split("/").pop() });
  a.click();
  setTimeout(() => URL.revokeObjectURL(url), 10_000);
}

/** Server-Sent Events over fetch (EventSource cannot send the token); reconnects with Last-Event-ID. */
async function follow(id) {
  const controller = new AbortController();
  state.stream = controller;
  let delay = 500;
  while (!controller.signal.aborted && state.conv === id) {
    try {
      const res = await fetch(`/api/conversations/${id}/events`, { headers: { authorization: `Bearer ${state.token}`, "last-event-id": String(state.lastId) }, signal: controller.signal });
      if (!res.ok || !res.body) throw new Error(`HTTP ${res.status}`);
      delay = 500;
      const reader = res.body.pipeThrough(new TextDecoderStream()).getReader();
      let buffer = "";
      for (;;) {
        const { value, done } = await reader.read();
        if (done) break;
        buffer += value;
        let cut;
        while ((cut = buffer.indexOf("\n\n")) >= 0) {
          dispatch(buffer.slice(0, cut));
          buffer = buffer.slice(cut + 2);
        }
      }
    } catch {
      if (controller.signal.aborted) return;
    }
    await new Promise((r) => setTimeout(r, delay));
    delay = Math.min(delay * 2, 10_000);
  }
}

function dispatch(block) {
  let event = "message";
  let data = "";
  for (const line of block.split("\n")) {
    if (line.startsWith("event: ")) event = line.slice(7);
    else if (line.startsWith("data: ")) data += line.slice(6);
  }
  if (!data) return;
  const payload = JSON.parse(data);
  if (event === "progress") return progress(payload);
  if (event === "delta") return delta(payload);
  show(payload);
  if (payload.turnEnd) $("progress").hidden = true;
}

/** The answer as it is written: one growing bubble, replaced by the final message (offset 0 starts it again). */
function delta(d) {
  let live = $("live");
  if (!live) {
    if (d.offset !== 0) return;
    live = Object.assign(document.createElement("div"), { id: "live", className: "msg live" });
    live.dataset.text = "";
    $("messages").append(live);
  }
  if (d.offset === 0) live.dataset.text = d.text;
  else if (d.offset === live.dataset.text.length) live.dataset.text += d.text;
  else return;
  if (live.dataset.pending) return;
  live.dataset.pending = "1";
  requestAnimationFrame(() => {
    delete live.dataset.pending;
    const list = $("messages");
    const scrolled = list.scrollHeight - list.scrollTop - list.clientHeight < 40;
    live.innerHTML = DOMPurify.sanitize(marked.parse(live.dataset.text));
    if (scrolled) list.scrollTop = list.scrollHeight;
  });
}

function progress(p) {
  const el = $("progress");
  if (["done", "failed", "cancelled"].includes(p.phase)) {
    el.hidden = true;
    if (p.phase !== "done") $("live")?.remove();
    return;
  }
  const seconds = Math.round((Date.now() - Date.parse(p.startedAt)) / 1000);
  const what = p.phase === "running_tool" ? `running ${p.toolName ?? "a tool"}` : p.phase.replace(/_/g, " ");
  el.textContent = [`⏱ ${seconds}s · ${p.model} · ${what}${p.step ? ` (step ${p.step})` : ""}`, ...(p.plan ?? [])].join("\n");
  el.hidden = false;
}

async function control(name) {
  if (state.conv) await api(`/api/conversations/${state.conv}/${name}`, { method: "POST" });
}
$("cancel").addEventListener("click", () => void control("cancel"));
$("continue").addEventListener("click", () => void control("continue"));

$("composer").addEventListener("submit", async (e) => {
  e.preventDefault();
  const text = $("text").value;
  if (!text.trim()) return;
  if (!state.conv) {
    const created = await api("/api/conversations", { method: "POST", body: JSON.stringify({ model: $("model").value, title: text.slice(0, 40) }) });
    await refreshList();
    await open(created.conversation_id);
  }
  // One id per message: a retry after a network error is the same message, never a second turn.
  const messageId = crypto.randomUUID();
  for (let attempt = 0; attempt < 5; attempt++) {
    try {
      await api(`/api/conversations/${state.conv}/messages`, { method: "POST", body: JSON.stringify({ text, message_id: messageId }) });
      $("text").value = "";
      return;
    } catch (err) {
      if (err.message === "unauthorized") return;
      await new Promise((r) => setTimeout(r, 500 * (attempt + 1)));
    }
  }
  alert("Could not send the message; it is still in the box.");
});
$("text").addEventListener("keydown", (e) => {
  if (e.key === "Enter" && !e.shiftKey) {
    e.preventDefault();
    $("composer").requestSubmit();
  }
});

void boot().catch((err) => showLogin(err.message));
