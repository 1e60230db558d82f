import { COORDINATE_ACTION_NAMES, beginSchemaWarmUp, lazyArguments, releaseWarmUpSchemas } from "@starling/protocol";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { z } from "zod";
import { defineTool, type AnyTool } from "../../src/tools/define-tool.js";
import { builtinTools } from "../../src/tools/builtin-tools.js";
import { downloadTools } from "../../src/tools/downloads/download-tools.js";
import { Downloads } from "../../src/tools/downloads/downloads.js";
import { hostTools } from "../../src/tools/host/host-tools.js";
import { imageGenerationTools } from "../../src/tools/media/image-generation.js";
import { analysisTools } from "../../src/tools/media/media-analysis.js";
import { MediaJobs } from "../../src/tools/media/media-jobs.js";
import { audioLoadTool, imageLoadTool, pdfLoadTool } from "../../src/tools/media/media-load.js";
import { clearToolSchemaCache, ToolRuntime } from "../../src/tools/tool-runtime.js";
import { webFetchTool } from "../../src/tools/web/web-fetch.js";
import { webSearchTool } from "../../src/tools/web/web-search.js";
import { skillLoadTool } from "../../src/skills/skill-load.js";
import type { RemoteMode } from "@starling/protocol";
import { type Harness, makeHarness } from "./helpers.js";

// The worker's snapshot warm-up fills the JSON Schema cache and drops the zod argument schemas it built
// (lazyArguments); a worker then offers the catalog from the cache and builds a tool's schema when it is
// called. What the model sees and what it is told about bad arguments must not depend on that.

let builds = 0;
const probeTool = defineTool({
  name: "probe",
  description: "Counts how often its parameters are built.",
  parameters: lazyArguments(() => {
    builds++;
    return z.object({ count: z.number().int().min(1).describe("How many."), label: z.string().optional().describe("A label.") });
  }),
  readOnly: true,
  remote: true,
  execute: async (args) => `count ${args.count}`,
});

function everyTool(h: Harness): AnyTool[] {
  const jobs = new MediaJobs();
  return [
    ...builtinTools(),
    webFetchTool,
    webSearchTool,
    skillLoadTool,
    imageLoadTool,
    pdfLoadTool,
    audioLoadTool,
    ...analysisTools("image", jobs),
    ...analysisTools("audio", jobs),
    ...imageGenerationTools(jobs),
    ...downloadTools(new Downloads(h.workspace, "s")),
    ...hostTools("foreground", COORDINATE_ACTION_NAMES),
    ...hostTools("background", COORDINATE_ACTION_NAMES).filter((t) => t.name === "terminate"),
    probeTool,
  ];
}

describe("tool JSON Schema cache (snapshot warm-up)", () => {
  let h: Harness;
  const runtimes: ToolRuntime[] = [];
  const runtime = (remote?: RemoteMode): ToolRuntime => {
    const rt = new ToolRuntime({ workspace: h.workspace, sessionId: "s", coordinate: async () => null, tools: everyTool(h), remote });
    runtimes.push(rt);
    return rt;
  };
  beforeEach(async () => {
    h = await makeHarness();
  });
  afterEach(async () => {
    await Promise.all(runtimes.splice(0).map((rt) => rt.dispose()));
    await h.cleanup();
  });

  for (const remote of [undefined, { mode: "selectable" } as const]) {
    it(`offers a byte-identical catalog from the cache after the warm-up dropped the zod schemas (remote ${remote?.mode ?? "off"})`, async () => {
      // Converted from freshly built zod schemas (the builds are released again, as the warm-up's are).
      clearToolSchemaCache();
      beginSchemaWarmUp();
      const direct = JSON.stringify(runtime(remote).catalog());
      releaseWarmUpSchemas();
      expect(direct).toContain('"name":"create_cron_task"');
      expect(direct).toContain('"name":"image_analysis_stop"');

      clearToolSchemaCache();
      beginSchemaWarmUp();
      expect(JSON.stringify(runtime(remote).catalog())).toBe(direct);
      expect(releaseWarmUpSchemas()).toBeGreaterThan(20);

      const before = builds;
      expect(JSON.stringify(runtime(remote).catalog())).toBe(direct);
      expect(builds).toBe(before); // served from the cache: nothing rebuilt
    });
  }

  it("validates a tool's arguments as strictly after its schema was dropped (same error to the model)", async () => {
    const bad = { id: "1", name: "probe", arguments: '{"count":0,"extra":1}' };
    const cron = { id: "2", name: "create_cron_task", arguments: '{"name":"","cron_second":"0"}' };
    const signal = new AbortController().signal;
    const rt = runtime();
    beginSchemaWarmUp();
    const direct = [await rt.run(bad, { turnId: 1, signal }), await rt.run(cron, { turnId: 1, signal })].map((r) => [r.content, r.isError]);
    releaseWarmUpSchemas();
    expect(direct[0]?.[1]).toBe(true);
    expect(direct[0]?.[0]).toContain("count");
    expect(direct[1]?.[1]).toBe(true);

    beginSchemaWarmUp();
    runtime().catalog();
    await runtime().run(bad, { turnId: 1, signal });
    releaseWarmUpSchemas();

    const before = builds;
    const fresh = runtime();
    fresh.catalog();
    expect(builds).toBe(before);
    const after = [await fresh.run(bad, { turnId: 1, signal }), await fresh.run(cron, { turnId: 1, signal })].map((r) => [r.content, r.isError]);
    expect(after).toEqual(direct);
    expect(builds).toBe(before + 1); // built again on the first call, once
    expect((await fresh.run({ id: "3", name: "probe", arguments: '{"count":2}' }, { turnId: 1, signal })).content).toBe("count 2");
    expect(builds).toBe(before + 1);
  });
});
