import { setFlagsFromString } from "node:v8";
import { runInNewContext } from "node:vm";
import { afterEach, describe, expect, it } from "vitest";
import { startFakeOpenAI, type FakeOpenAI } from "./openai-server.js";

let fake: FakeOpenAI | undefined;
afterEach(async () => {
  await fake?.close();
  fake = undefined;
});

function post(url: string, body: unknown, key?: string): Promise<Response> {
  return fetch(url, {
    method: "POST",
    headers: { "content-type": "application/json", ...(key ? { authorization: `Bearer ${key}` } : {}) },
    body: JSON.stringify(body),
  });
}

describe("fake OpenAI server", () => {
  it("rejects a wrong bearer token with an OpenAI-style 401 and records the request", async () => {
    fake = await startFakeOpenAI({ apiKey: "sk-test", replies: [{ text: "hi" }] });
    const res = await post(fake.url, { model: "m", messages: [] }, "sk-wrong");
    expect(res.status).toBe(401);
    expect(await res.json()).toMatchObject({ error: { code: "invalid_api_key" } });
    expect(fake.requests).toHaveLength(1);

    const ok = await post(fake.url, { model: "m", messages: [] }, "sk-test");
    expect(ok.status).toBe(200);
    expect(await ok.json()).toMatchObject({ choices: [{ message: { content: "hi" } }] });
  });

  it("answers 500 naming the exhausted script", async () => {
    fake = await startFakeOpenAI();
    const res = await post(fake.url, { model: "m", messages: [] });
    expect(res.status).toBe(500);
    expect(JSON.stringify(await res.json())).toContain("fake model: no scripted reply left");
  });

  it("streams SSE with tool-call fragments, a finish reason, usage and [DONE]", async () => {
    fake = await startFakeOpenAI({
      replies: [{ text: "hello world", toolCalls: [{ name: "ls", arguments: { path: "." } }], chunkChars: 3, usage: { prompt_tokens: 5, completion_tokens: 7 } }],
    });
    const res = await post(fake.url, { model: "m", messages: [], stream: true });
    expect(res.headers.get("content-type")).toContain("text/event-stream");
    const text = await res.text();
    const data = text.split("\n\n").filter(Boolean).map((e) => e.replace(/^data: /, ""));
    expect(data.at(-1)).toBe("[DONE]");
    const chunks = data.slice(0, -1).map((d) => JSON.parse(d) as { choices: Array<{ delta: Record<string, unknown>; finish_reason: string | null }>; usage?: unknown });
    const content = chunks.map((c) => c.choices[0]?.delta["content"] ?? "").join("");
    expect(content).toBe("hello world");
    expect(chunks.at(-1)?.usage).toMatchObject({ prompt_tokens: 5, completion_tokens: 7 });
    expect(chunks.some((c) => c.choices[0]?.finish_reason === "tool_calls")).toBe(true);
    expect(fake.requests[0]?.body["stream"]).toBe(true);
  });

  it("uses a responder for every request and waits for request counts", async () => {
    fake = await startFakeOpenAI({ responder: (_req, i) => ({ text: `reply ${i}` }) });
    const replies = await Promise.all([0, 1, 2].map(() => post(fake!.url, { messages: [] }).then((r) => r.json())));
    await fake.waitForRequests(3, 1000);
    expect(replies).toHaveLength(3);
    await expect(fake.waitForRequests(4, 50)).rejects.toThrow(/expected 4 requests/);
  });

  it("records a client abort on a hanging reply", async () => {
    fake = await startFakeOpenAI({ replies: [{ hang: true }] });
    const controller = new AbortController();
    const res = fetch(fake.url, { method: "POST", body: "{}", signal: controller.signal }).catch((e: unknown) => e);
    await fake.waitForRequests(1);
    expect(fake.requests[0]?.aborted).toBe(false);
    controller.abort();
    expect(await res).toBeInstanceOf(Error);
    await expect.poll(() => fake!.requests[0]?.aborted).toBe(true);
  });

  it("keeps no parsed body once it has answered; a later read parses rawBody again", async () => {
    // A benchmark sends hundreds of 28 kB bodies that nobody reads again: kept parsed, every GC of the bench process walks them.
    let seen: WeakRef<Record<string, unknown>> | undefined;
    fake = await startFakeOpenAI({
      responder: (req) => {
        seen = new WeakRef(req.body);
        return { text: `you said ${JSON.stringify(req.body["messages"])}` };
      },
    });
    const messages = [{ role: "user", content: "x".repeat(1000) }];
    const res = await post(fake.url, { model: "m", messages, stream: true });
    expect(await res.text()).toContain("you said");
    setFlagsFromString("--expose-gc");
    const gc = runInNewContext("gc") as () => void;
    // The fake lets go once its handler has finished, which may come a moment after the client read the reply (a
    // loaded machine); a WeakRef target lives at least until the job that made it ends.
    for (let i = 0; i < 100 && seen?.deref() !== undefined; i++) {
      await new Promise((resolve) => setTimeout(resolve, 20));
      gc();
    }
    expect(seen?.deref()).toBeUndefined();
    expect(fake.requests[0]?.body).toEqual({ model: "m", messages, stream: true });
    expect(fake.requests[0]?.body).toBe(fake.requests[0]?.body);
    expect(JSON.parse(fake.requests[0]!.rawBody.toString("utf8"))).toEqual(fake.requests[0]?.body);
  });
});
