import { describe, expect, it } from "vitest";
import { renderSystemdUnit } from "../src/index.js";

const options = {
  nodePath: "/usr/bin/node",
  mainPath: "/opt/starling/packages/host/dist/main.js",
  configPath: "/home/ada/.config/starling/config.json",
  workdir: "/home/ada/.local/share/starling",
};

describe("renderSystemdUnit", () => {
  it("puts node flags between node and main.js", () => {
    const unit = renderSystemdUnit({ ...options, nodeFlags: ["--max-semi-space-size=8"] });
    expect(unit).toContain("ExecStart=/usr/bin/node --max-semi-space-size=8 /opt/starling/packages/host/dist/main.js -- --config ");
  });

  it("renders absolute paths into ExecStart and WorkingDirectory", () => {
    const unit = renderSystemdUnit({ ...options, environmentFile: "/home/ada/.config/starling/env" });
    expect(unit).toContain(
      "ExecStart=/usr/bin/node /opt/starling/packages/host/dist/main.js -- --config /home/ada/.config/starling/config.json --workdir /home/ada/.local/share/starling --env-file /home/ada/.config/starling/env\n",
    );
    expect(unit).toContain("WorkingDirectory=-/home/ada/.local/share/starling\n");
    // Secrets stay out of the service's environment: starling reads the file itself.
    expect(unit).not.toMatch(/^EnvironmentFile=/m);
    expect(unit).toContain("\nRestartPreventExitStatus=78\n");
    expect(unit).toContain("\nRestart=on-failure\n");
    expect(unit).toContain("\nWantedBy=default.target\n");
    expect(unit).not.toMatch(/\{\{/);
    const exec = /^ExecStart=(.*)$/m.exec(unit)?.[1] ?? "";
    for (const arg of exec.split(" ").filter((a) => !a.startsWith("--"))) expect(arg.startsWith("/")).toBe(true);
  });

  it("omits --env-file when none is given", () => {
    expect(renderSystemdUnit(options)).not.toContain("--env-file");
  });

  it("quotes paths with spaces and escapes % specifiers", () => {
    const unit = renderSystemdUnit({ ...options, workdir: "/home/ada/My Starling", configPath: "/home/ada/100%.json" });
    expect(unit).toContain('--config /home/ada/100%%.json --workdir "/home/ada/My Starling"');
    expect(unit).toContain("WorkingDirectory=-/home/ada/My Starling\n");
  });

  it("adds Environment= lines for non-secret variables, quoted, % escaped; none by default", () => {
    const unit = renderSystemdUnit({ ...options, environment: { NODE_EXTRA_CA_CERTS: "/etc/company ca/100%.pem" } });
    expect(unit).toContain('Environment=NODE_ENV=production\nEnvironment="NODE_EXTRA_CA_CERTS=/etc/company ca/100%%.pem"\n');
    expect(renderSystemdUnit(options)).toContain("Environment=NODE_ENV=production\nRestart=");
    expect(() => renderSystemdUnit({ ...options, environment: { "BAD NAME": "x" } })).toThrow(/not a variable name/);
  });

  it("refuses relative paths", () => {
    expect(() => renderSystemdUnit({ ...options, configPath: "config.json" })).toThrow(/configPath must be an absolute path/);
  });
});
