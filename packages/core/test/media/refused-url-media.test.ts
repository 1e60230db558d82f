// Which file given by URL a provider's refusal is about (media/refused-url-media.ts): the worker replaces
// that one by a note and retries, so the choice decides whether the retry is answered. The end-to-end
// behaviour is in test/conformance/url-media-refused.test.ts.
import { describe, expect, it } from "vitest";
import type { FileItem } from "@starling/protocol";
import { refusedUrlMedia } from "../../src/media/refused-url-media.js";
import { ProviderError } from "../../src/providers/types.js";
import { message } from "../providers/helpers.js";

const file = (uri: string, mediaType: string): FileItem => ({ type: "file", uri, mediaType });
const oldPdf = file("https://example.org/old.pdf", "application/pdf");
const newPdf = file("https://example.org/new.pdf", "application/pdf");
const photo = file("https://example.org/photo.jpg", "image/jpeg");
const local = file("file:///ws/big.pdf", "application/pdf");
const history = [message("user", [{ type: "text", text: "a" }, oldPdf]), message("user", [photo, local]), message("user", [newPdf])];
const refusal = (text: string, kind: ProviderError["kind"] = "bad_request") => new ProviderError(kind, `HTTP 400 from https://api.example/v1/messages: ${text}`, { status: 400 });

describe("the file given by URL a refusal is about", () => {
  it("the URL the refusal names, else one of the refused kind, the newest", () => {
    expect(refusedUrlMedia(refusal(`Unable to download the file from ${oldPdf.uri}. Please verify the URL and try again.`), history)?.url).toBe(oldPdf.uri);
    expect(refusedUrlMedia(refusal("Too much media: 150 document pages + 0 images > 100"), history)?.url).toBe(newPdf.uri);
    expect(refusedUrlMedia(refusal("messages.1.content.0.image.source.url: image exceeds 5 MB maximum"), history)?.url).toBe(photo.uri);
    expect(refusedUrlMedia(refusal("Anthropic (through OpenRouter): At least one of the image dimensions exceed max allowed size: 8000 pixels"), history)?.url).toBe(photo.uri);
  });

  it("the reason without the endpoint, as the model will read it in the note", () => {
    expect(refusedUrlMedia(refusal("Too much media: 150 document pages + 0 images > 100"), history)?.reason).toBe("Too much media: 150 document pages + 0 images > 100");
  });

  it("none for a refusal about something else, for an error that is no refusal, or without a file given by URL", () => {
    expect(refusedUrlMedia(refusal("prompt is too long: 210000 tokens > 200000 maximum"), history)).toBeNull();
    expect(refusedUrlMedia(refusal("image exceeds 5 MB maximum", "auth"), history)).toBeNull();
    // A 5xx or a network failure mentioning a fetch says nothing certain about the file: it is not replaced for good.
    expect(refusedUrlMedia(refusal(`upstream failed to fetch ${oldPdf.uri}`, "server"), history)).toBeNull();
    expect(refusedUrlMedia(refusal("Unable to fetch: socket hang up", "network"), history)).toBeNull();
    expect(refusedUrlMedia(new Error("Too much media"), history)).toBeNull();
    expect(refusedUrlMedia(refusal("Too much media: 150 document pages + 0 images > 100"), [message("user", [local])])).toBeNull();
  });

  it("none for a refusal of an image when no image is given by URL: a PDF given by URL is not blamed for an inline image", () => {
    const inline = file("data:image/jpeg;base64,AAAA", "image/jpeg");
    const withPdf = [message("user", [oldPdf]), message("user", [{ type: "text", text: "what is this?" }, inline])];
    // Before the fix: old.pdf, replaced by a note for good while the call was refused again for the inline image.
    expect(refusedUrlMedia(refusal("messages.1.content.1.image.source.base64: Could not process image"), withPdf)).toBeNull();
    // "Too much media" is about both kinds: an image given by URL when no PDF is.
    expect(refusedUrlMedia(refusal("Too much media: 0 document pages + 120 images > 100"), [message("user", [photo])])?.url).toBe(photo.uri);
  });
});
