import { type RemoteMode, sshAliasProblem } from "@starling/protocol";
import { z } from "zod";
import type { AnyTool } from "../define-tool.js";
import { ToolError } from "../errors.js";
import { RemoteWorkspace } from "./remote-workspace.js";
import { configuredAliases, sshConfigFiles } from "./ssh.js";

const remoteArgument = z
  .string()
  .optional()
  .describe("SSH Host alias from ~/.ssh/config to run this on; paths are then relative to the remote user's home (and confined to it). Omit to run locally.");

/**
 * Decides where a call of a `remote` tool runs (ARCHITECTURE §9.1): `off` → locally; `fixed` →
 * always on the fixed host and path (no `remote` argument exists); `selectable` → the tool's
 * parameters gain an optional `remote` alias, blank or absent meaning local.
 */
export class RemoteRouting {
  private readonly fixed: RemoteWorkspace | null;
  private readonly extended = new Map<string, z.ZodObject>();

  constructor(readonly mode: RemoteMode = { mode: "off" }) {
    this.fixed = mode.mode === "fixed" ? new RemoteWorkspace(mode.host, mode.path) : null;
  }

  /** The fixed mode's remote workspace (where the file tools and shell work), else null. */
  get fixedWorkspace(): RemoteWorkspace | null {
    return this.fixed;
  }

  /** Whether the tool's parameters gain the `remote` argument in this mode. */
  extends(tool: AnyTool): boolean {
    return this.mode.mode === "selectable" && tool.remote === true;
  }

  /** The parameters a tool is offered and validated with in this mode. */
  parameters(tool: AnyTool): z.ZodObject {
    if (!this.extends(tool)) return tool.parameters();
    let schema = this.extended.get(tool.name);
    if (!schema) {
      schema = tool.parameters().extend({ remote: remoteArgument });
      this.extended.set(tool.name, schema);
    }
    return schema;
  }

  /** The tool's own arguments (without `remote`) and where it runs; a ToolError for a bad alias. */
  route(tool: AnyTool, args: Record<string, unknown>): { args: Record<string, unknown>; remote: RemoteWorkspace | null } {
    if (!tool.remote) return { args, remote: null };
    if (this.fixed) return { args, remote: this.fixed };
    if (this.mode.mode !== "selectable") return { args, remote: null };
    const { remote, ...rest } = args;
    if (typeof remote !== "string" || remote.trim() === "") return { args: rest, remote: null };
    const problem = sshAliasProblem(remote);
    if (problem) {
      throw new ToolError("invalid_arguments", `remote ${JSON.stringify(remote)} must be a safe ~/.ssh/config Host alias: ${problem}. Give a Host name such as "devbox", or omit remote to run locally. Nothing was run.`);
    }
    const aliases = configuredAliases();
    if (!aliases.has(remote)) {
      const known = aliases.size > 0 ? `the Host aliases there: ${[...aliases].sort().join(", ")}` : "none is defined";
      throw new ToolError("invalid_arguments", `remote ${JSON.stringify(remote)} is not a Host alias defined in ${sshConfigFiles().join(" or ")} (${known}). Only those aliases can be used (not a hostname, an IP address or user@host); omit remote to run locally. Nothing was run.`);
    }
    return { args: rest, remote: new RemoteWorkspace(remote, null) };
  }
}
