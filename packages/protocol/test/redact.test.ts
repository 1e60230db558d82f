// The value-based redactor: every secret value and its common encodings become [redacted:NAME].
import { describe, expect, it } from "vitest";
import { createRedactor, NO_REDACTION } from "../src/index.js";

const KEY = "sk-live-9f8e7d6c5b4a3210/+?=&";
const TOKEN = "123456:AAbbCCddEEffGGhh";

describe("createRedactor", () => {
  const r = createRedactor({ OPENAI_API_KEY: KEY, TELEGRAM_BOT_TOKEN: TOKEN, EMPTY: "", SHORT: "ab" });

  it("replaces raw values by name, wherever they are", () => {
    expect(r.redact(`key=${KEY} token ${TOKEN}${TOKEN}`)).toBe(
      "key=[redacted:OPENAI_API_KEY] token [redacted:TELEGRAM_BOT_TOKEN][redacted:TELEGRAM_BOT_TOKEN]",
    );
    expect(r.names).toEqual(["OPENAI_API_KEY", "TELEGRAM_BOT_TOKEN"]);
  });

  it("ignores empty and too-short values instead of shredding text", () => {
    expect(r.redact("a b ab abc")).toBe("a b ab abc");
  });

  it("catches URL-encoded and JSON-escaped forms", () => {
    expect(r.redact(`https://x/?k=${encodeURIComponent(KEY)}`)).toBe("https://x/?k=[redacted:OPENAI_API_KEY]");
    const q = createRedactor({ Q: 'pa"ss\\word' });
    expect(q.redact(JSON.stringify({ p: 'pa"ss\\word' }))).toBe('{"p":"[redacted:Q]"}');
  });

  it("catches base64 at any alignment inside a longer blob, standard and URL-safe", () => {
    for (const prefix of ["", "x", "xy", "xyz"]) {
      const blob = Buffer.from(`${prefix}Authorization: Bearer ${KEY}\n`).toString("base64");
      expect(r.redact(blob), `prefix ${JSON.stringify(prefix)}`).toContain("[redacted:OPENAI_API_KEY]");
      const url = Buffer.from(`${prefix}${KEY}`).toString("base64url");
      expect(r.redact(url)).toContain("[redacted:OPENAI_API_KEY]");
    }
  });

  it("replaces the longer secret whole when one value contains another", () => {
    const nested = createRedactor({ SHORTER: "abcdefgh", LONGER: "xxabcdefghxx" });
    expect(nested.redact("xxabcdefghxx abcdefgh")).toBe("[redacted:LONGER] [redacted:SHORTER]");
  });

  it("redacts deep JSON values, keys included, without touching the input", () => {
    const input = { a: [KEY, 1, null, { [TOKEN]: true }], b: "plain" };
    expect(r.redactDeep(input)).toEqual({
      a: ["[redacted:OPENAI_API_KEY]", 1, null, { "[redacted:TELEGRAM_BOT_TOKEN]": true }],
      b: "plain",
    });
    expect(input.a[0]).toBe(KEY);
  });

  it("NO_REDACTION leaves text alone", () => {
    expect(NO_REDACTION.redact(KEY)).toBe(KEY);
  });
});
