import { fileURLToPath } from "node:url";
import { z } from "zod";
import { StarlingConfig } from "./schema.js";
import { CONFIG_VERSION } from "./version.js";

/** The generated schema file shipped with Starling (config/schema/, or schema/ in the npm package); `init` points `$schema` at it. */
export const CONFIG_SCHEMA_FILE = fileURLToPath(new URL("../schema/starling-config.schema.json", import.meta.url));

/**
 * JSON Schema (draft 2020-12) of the config file as written, for editors. Objects Starling owns
 * reject unknown properties, so an editor underlines typos; models stay open (extra keys reach the worker).
 */
export function configJsonSchema(): Record<string, unknown> {
  const schema = z.toJSONSchema(StarlingConfig, {
    io: "input",
    unrepresentable: "any",
    override(ctx) {
      const def = ctx.zodSchema._zod.def as { type: string; catchall?: unknown };
      if (def.type === "object" && def.catchall === undefined) ctx.jsonSchema.additionalProperties = false;
    },
  });
  return {
    ...schema,
    title: `Starling config (version ${CONFIG_VERSION})`,
    description: "Config of the Starling agent server; compatible with Stellaclaw 0.4 configs.",
  };
}
