import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { webFetchTool } from "../../src/tools/web/web-fetch.js";
import { makeHarness, type Harness } from "./helpers.js";
import { startLocalHttp, type LocalHttp } from "./local-http.js";

const ARTICLE = `<!doctype html><html><head><title>Moon facts</title>
<style>body { color: red } .secret-style { display: none }</style>
<script>window.stealCookies = function () { alert("owned") };</script></head>
<body><nav><a href="/">Home</a> | <a href="/about">About</a></nav>
<article><h1>The Moon</h1>
<p>The Moon is Earth's only natural satellite. It orbits at an average distance of 384,400 km and is about a quarter of Earth's diameter.</p>
<p>Its surface is covered in regolith, and the same side always faces Earth because of tidal locking. See <a href="/tides">tides</a> for more.</p>
<script>document.write("injected text")</script>
<p>Humans first landed there in 1969 during the Apollo 11 mission, and twelve people have walked on its surface since.</p>
</article><footer>© 2024</footer></body></html>`;

let server: LocalHttp;
let h: Harness;
let open: Harness;

beforeAll(async () => {
  server = await startLocalHttp({
    "/article": (_req, res) => res.writeHead(200, { "content-type": "text/html; charset=utf-8" }).end(ARTICLE),
    "/plain": (_req, res) => res.writeHead(200, { "content-type": "text/plain" }).end("just text\nline two"),
    "/json": (_req, res) => res.writeHead(200, { "content-type": "application/json" }).end('{"a":1}'),
    "/missing": (_req, res) => res.writeHead(404, { "content-type": "text/plain" }).end("nothing here"),
    "/hop": (_req, res) => res.writeHead(302, { location: "/article" }).end(),
    "/to-private": (_req, res) => res.writeHead(302, { location: `http://127.0.0.2:${server.port}/plain` }).end(),
    "/loop": (_req, res) => res.writeHead(302, { location: "/loop" }).end(),
    "/png": (_req, res) => res.writeHead(200, { "content-type": "image/png", "content-length": "2048" }).end(Buffer.alloc(2048, 0x89)),
    "/headers": (req, res) => res.writeHead(200, { "content-type": "text/plain" }).end(`lang=${req.headers["accept-language"]}`),
    "/huge": (_req, res) => {
      res.writeHead(200, { "content-type": "text/plain" });
      const chunk = "x".repeat(64 * 1024);
      let sent = 0;
      const pump = (): void => {
        while (sent < 64 * 1024 * 1024) {
          sent += chunk.length;
          if (!res.write(chunk)) return void res.once("drain", pump);
        }
        res.end();
      };
      res.on("close", () => (sent = Number.POSITIVE_INFINITY));
      pump();
    },
    "/slow": () => undefined, // never answers
  });
  // The policy stays on (no private networks) but the test server's exact address is trusted.
  h = await makeHarness({ tools: [webFetchTool], network: { allowPrivate: false, trusted: ["127.0.0.1"] } });
  open = await makeHarness({ tools: [webFetchTool], network: { allowPrivate: true } });
});

afterAll(async () => {
  await h.cleanup();
  await open.cleanup();
  await server.close();
});

describe("web_fetch", () => {
  it("returns an HTML page as readable Markdown without scripts or styles", async () => {
    const r = await h.call("web_fetch", { url: server.url("/article") });
    expect(r.isError).toBe(false);
    expect(r.content).toContain("Status: 200");
    expect(r.content).toContain("Title: Moon facts");
    expect(r.content).toContain("Earth's only natural satellite");
    expect(r.content).toContain("Apollo 11");
    expect(r.content).toContain(`[tides](${server.url("/tides")})`);
    for (const leak of ["stealCookies", "alert(", "color: red", "secret-style", "injected text", "<p>"]) {
      expect(r.content).not.toContain(leak);
    }
  });

  it("returns text and JSON as they are, and error statuses as normal results", async () => {
    expect((await h.call("web_fetch", { url: server.url("/plain") })).content).toContain("just text\nline two");
    expect((await h.call("web_fetch", { url: server.url("/json") })).content).toContain('{"a":1}');
    const missing = await h.call("web_fetch", { url: server.url("/missing") });
    expect(missing.isError).toBe(false);
    expect(missing.content).toContain("Status: 404");
    expect(missing.content).toContain("nothing here");
  });

  it("follows redirects and says where it ended", async () => {
    const r = await h.call("web_fetch", { url: server.url("/hop") });
    expect(r.content).toContain(`URL: ${server.url("/article")} (redirected from ${server.url("/hop")})`);
    expect(r.content).toContain("The Moon");
    const loop = await h.call("web_fetch", { url: server.url("/loop") });
    expect(loop.isError).toBe(true);
    expect(loop.content).toContain("too many redirects");
  });

  it("refuses a redirect to a private address", async () => {
    const before = server.requests.length;
    const r = await h.call("web_fetch", { url: server.url("/to-private") });
    expect(r.isError).toBe(true);
    expect(r.content).toContain("127.0.0.2 is a loopback address");
    expect(r.content).toContain("tools.web_private_networks");
    expect(server.requests.slice(before)).toEqual(["/to-private"]);
  });

  it("refuses loopback, private and link-local addresses, by literal or by DNS name", async () => {
    const strict = await makeHarness({ tools: [webFetchTool] });
    try {
      const cases: [string, string][] = [
        [`http://localhost:${server.port}/plain`, "loopback"],
        ["http://169.254.169.254/latest/meta-data/", "link-local"],
        ["http://10.1.2.3/", "private-network"],
        [`http://[::ffff:127.0.0.1]:${server.port}/plain`, "loopback"],
      ];
      for (const [url, reason] of cases) {
        const r = await strict.call("web_fetch", { url, timeout_seconds: 5 });
        expect(r.isError, url).toBe(true);
        expect(r.content, url).toContain(reason);
      }
    } finally {
      await strict.cleanup();
    }
    // With tools.web_private_networks the same name is fetched.
    const allowed = await open.call("web_fetch", { url: `http://localhost:${server.port}/plain` });
    expect(allowed.content).toContain("just text");
  });

  it("refuses binary bodies, naming type and size", async () => {
    const r = await h.call("web_fetch", { url: server.url("/png") });
    expect(r.isError).toBe(true);
    expect(r.content).toContain("image/png, 2048 bytes");
    expect(r.content).toContain("file_download_start");
  });

  it("cuts a huge body and a long text, and says how to see more", async () => {
    const r = await h.call("web_fetch", { url: server.url("/huge"), max_chars: 1000 });
    expect(r.isError).toBe(false);
    expect(r.content).toContain("larger than 5242880 bytes");
    expect(r.content).toMatch(/more characters not shown/);
    expect(r.details?.truncated).toBe(true);
    expect(r.content.length).toBeLessThan(3000);
  });

  it("sends extra headers and validates them", async () => {
    expect((await h.call("web_fetch", { url: server.url("/headers"), headers: { "Accept-Language": "de" } })).content).toContain("lang=de");
    const bad = await h.call("web_fetch", { url: server.url("/headers"), headers: { "Bad Name": "x" } });
    expect(bad.details?.kind).toBe("invalid_arguments");
    const injected = await h.call("web_fetch", { url: server.url("/headers"), headers: { X: "a\r\nHost: evil" } });
    expect(injected.details?.kind).toBe("invalid_arguments");
  });

  it("times out a slow server and stops at once when cancelled", async () => {
    const slow = await h.call("web_fetch", { url: server.url("/slow"), timeout_seconds: 0.3 });
    expect(slow.isError).toBe(true);
    expect(slow.content).toContain("timed out after 0.3 s");

    const controller = new AbortController();
    setTimeout(() => controller.abort(), 200);
    const cancelled = await h.call("web_fetch", { url: server.url("/slow") }, controller.signal);
    expect(cancelled.details?.kind).toBe("aborted");
  });

  it("rejects URLs it cannot fetch with a clear message", async () => {
    for (const [url, text] of [
      ["ftp://example.com/x", "only http:// and https://"],
      ["not a url", "not a valid URL"],
      ["http://user:pw@example.com/", "user name or password"],
    ]) {
      const r = await h.call("web_fetch", { url });
      expect(r.details?.kind, url).toBe("invalid_arguments");
      expect(r.content, url).toContain(text);
    }
  });
});
