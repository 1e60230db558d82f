// lazyOptional fixes two of zod's internal properties (`_zod.optin`, `_zod.optout`) on a lazy schema. These
// tests are the guard: a zod release that reads them elsewhere, or builds a lazy schema for another
// reason, fails here rather than quietly bringing the MCP server schemas back into every worker's snapshot.
import { describe, expect, it } from "vitest";
import { z } from "zod";
import { InitializeParams, lazyOptional, PROTOCOL_VERSION } from "../src/index.js";

function counted() {
  let builds = 0;
  const build = () => {
    builds++;
    return z.record(z.string().regex(/^[a-z]+$/), z.object({ port: z.number().int(), tags: z.array(z.string()).default([]) }));
  };
  return { build, builds: () => builds };
}

describe("lazyOptional", () => {
  it("builds the field's schema only when a parsed value has the field", () => {
    const field = counted();
    const schema = z.object({ name: z.string(), servers: lazyOptional(field.build) });
    expect(schema.parse({ name: "a" })).toEqual({ name: "a" });
    expect(schema.safeParse({ name: "a", servers: undefined }).success).toBe(true);
    expect(schema.safeParse({ name: 1 }, { jitless: true }).success).toBe(false);
    expect(z.object({ outer: schema.optional() }).parse({})).toEqual({});
    expect(field.builds()).toBe(0);
    expect(schema.parse({ name: "a", servers: { x: { port: 1 } } })).toEqual({ name: "a", servers: { x: { port: 1, tags: [] } } });
    expect(schema.parse({ name: "b", servers: { y: { port: 2, tags: ["t"] } } }, { jitless: true }).servers?.y?.tags).toEqual(["t"]);
    expect(field.builds()).toBe(1);
  });

  it("parses, fails and converts to JSON Schema as the same field built at load", () => {
    const eager = z.object({ name: z.string(), servers: counted().build().optional() });
    const lazy = z.object({ name: z.string(), servers: lazyOptional(counted().build) });
    const inputs = [{ name: "a" }, { name: "a", servers: {} }, { name: "a", servers: { x: { port: 1 } } }, { name: "a", servers: { X: { port: 1 } } }, { name: "a", servers: { x: { port: "1" } } }, { servers: 5 }];
    for (const input of inputs) {
      for (const jitless of [false, true]) {
        const [a, b] = [eager.safeParse(input, { jitless }), lazy.safeParse(input, { jitless })];
        expect(b.success).toBe(a.success);
        expect(b.data).toEqual(a.data);
        expect(b.error?.issues.map((i) => [i.path, i.code, i.message])).toEqual(a.error?.issues.map((i) => [i.path, i.code, i.message]));
      }
    }
    for (const io of ["input", "output"] as const) expect(z.toJSONSchema(lazy, { io })).toEqual(z.toJSONSchema(eager, { io }));
  });

  it("refuses a field schema that is itself optional or defaulted (its absence would mean something)", () => {
    const optional = z.object({ servers: lazyOptional(() => z.record(z.string(), z.number()).optional()) });
    const defaulted = z.object({ servers: lazyOptional(() => z.record(z.string(), z.number()).default({})) });
    expect(() => optional.parse({ servers: {} })).toThrow(/neither optional nor defaulted/);
    expect(() => defaulted.parse({ servers: {} })).toThrow(/neither optional nor defaulted/);
  });

  it("keeps initialize.mcpServers checked where present: a bad server name is refused by its path", () => {
    const init = {
      protocolVersion: PROTOCOL_VERSION,
      sessionId: "s",
      sessionType: "foreground",
      workspace: "/tmp/w",
      model: { provider_type: "open_router_completion", model_name: "m", url: "http://127.0.0.1:9/v1", capabilities: ["chat"] },
    };
    expect(InitializeParams.safeParse(init).success).toBe(true);
    const bad = InitializeParams.safeParse({ ...init, mcpServers: { "a__b": { transport: "stdio", command: "x" } } });
    expect(bad.error?.issues.map((i) => i.path.join("."))).toEqual(["mcpServers.a__b"]);
    const good = InitializeParams.parse({ ...init, mcpServers: { fs: { transport: "stdio", command: "x" } } });
    expect(good.mcpServers?.fs).toMatchObject({ transport: "stdio", args: [], env: {}, timeoutSeconds: 60, toolsDeny: [] });
  });
});
