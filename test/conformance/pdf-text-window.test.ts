// A PDF sent to a model without `pdf_in` goes as its extracted text, which can be tens of thousands of
// tokens. The token estimate counted it as a file (256 tokens), so the window check let a request through
// that the provider refused as too long (a paid, wasted call) before compacting. The estimate now counts
// the text the PDF was sent as: the fake windowed model sees no request over its window.
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { describe, expect, it } from "vitest";
import { makePdfText } from "../fixtures/media-files.js";
import { newEnv, pairingProblems, transcript, userMessage } from "./harness.js";
import { isSummaryRequest } from "./model-script.js";
import { bodyTokens, ended, windowedModel, withWindow, words } from "./windowed-model.js";

describe("a PDF sent as its extracted text, in the context window", () => {
  it("a conversation whose PDF text passes the window compacts before the call, and no request is refused as too long", { timeout: 60_000 }, async (ctx) => {
    const WINDOW = 20_000;
    const model = windowedModel(() => WINDOW);
    const { fake, start, dir } = await newEnv(ctx, { responder: model });
    // ~10k tokens of text: 10 pages of 45 lines (the extraction keeps up to 60 000 characters).
    const pages = Array.from({ length: 10 }, (_, p) => Array.from({ length: 45 }, (_, i) => `Page ${p} line ${i} of the quarterly report, figures and remarks.`));
    writeFileSync(join(dir, "report.pdf"), makePdfText(pages));
    const pdf = { type: "file" as const, uri: pathToFileURL(join(dir, "report.pdf")).href, name: "report.pdf", mediaType: "application/pdf" };
    // The model config has no pdf_in: the PDF goes as its text. Only the window can trigger compaction.
    const w = await start({ init: { model: withWindow(fake.url, WINDOW), compression: { thresholdTokens: 1_000_000, retainRecentTokens: 500 } } });

    await w.client.enqueue({ messageId: "p", kind: "user", message: { role: "user", content: [{ type: "text", text: "Read this report." }, pdf] } });
    await ended(w, 1);
    const first = fake.requests.at(-1)!;
    expect(JSON.stringify(first.body)).toContain("Page 9 line 44 of the quarterly report");
    expect(bodyTokens(first), "the PDF's text alone fits the window").toBeLessThan(WINDOW * 0.85);
    expect(bodyTokens(first), "but takes most of it").toBeGreaterThan(WINDOW / 2);

    await w.client.enqueue(userMessage("q", words(48_000, "my notes")));
    await ended(w, 2);
    expect(w.eventsOf("turn_failed")).toEqual([]);
    expect(model.refused.map(bodyTokens), "requests refused as too long").toEqual([]);
    expect(w.eventsOf("compacted").length).toBe(1);
    expect(fake.requests.some(isSummaryRequest)).toBe(true);
    const current = await transcript(w.client, "current");
    expect(current[0]?.role).toBe("context");
    expect(pairingProblems(current)).toEqual([]);
  });
});
