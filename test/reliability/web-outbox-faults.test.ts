// Disk faults in the web channel's outbox (issue #7 part 5): moving a reply into the web log
// (`web_event`) or deleting it from the outbox (`outbox_sent`) fails with EIO. The outbox tries the
// same item again with backoff, so the reply appears without anything else waking the outbox, once.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { lastUserText } from "../e2e/fixture.js";
import { openEvents, startWebE2E, type WebE2E } from "../e2e/web-fixture.js";

describe("web outbox with failing writes", () => {
  let e2e: WebE2E;

  beforeAll(async () => {
    e2e = await startWebE2E((req) => ({ text: `echo: ${lastUserText(req).split("\n").at(-1) ?? ""}` }));
  }, 60_000);
  afterAll(() => e2e?.close());

  // outbox_sent fails after the reply is shown (only the retry and "once" are checked): CPU budget of pnpm test.
  const FULL = process.env.STARLING_RELIABILITY_FULL === "1";
  for (const spec of ["web_event:1:2", ...(FULL ? ["outbox_sent:1:2"] : [])]) {
    it(`STARLING_FAIL_AT=${spec}: the reply still appears, once, with nothing else sent`, async () => {
      if (e2e.host) await e2e.stop();
      await e2e.start({ STARLING_FAIL_AT: spec });
      const conv = (await e2e.json("/api/conversations", { method: "POST", json: { title: spec } })).conversation_id;
      const events = openEvents(e2e, conv);
      const text = `only message (${spec})`;
      await e2e.json(`/api/conversations/${conv}/messages`, { method: "POST", json: { text, message_id: `fault-${spec}` } });
      // Before the fix the outbox stopped at the failed write until another reply woke it: none comes here.
      await events.wait((ev) => ev.some((e) => e.text === `echo: ${text}`), "the reply", 30_000);
      const log = () => e2e.logTail();
      await events.wait(() => /web outbox delivery failed; retrying/.test(log()), "the failed write reported and retried", 30_000);
      expect((await e2e.stop()) as { code: number | null }).toMatchObject({ code: 0 });
      await e2e.start();
      const replay = openEvents(e2e, conv);
      await replay.wait((ev) => ev.some((e) => e.text === `echo: ${text}`), "the reply after a restart");
      expect(replay.events.filter((e) => e.text === `echo: ${text}`), "shown exactly once").toHaveLength(1);
      events.close();
      replay.close();
    }, 90_000);
  }
});
