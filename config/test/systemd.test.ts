import { describe, expect, it } from "vitest";
import { renderSystemdUnit } from "../src/index.js";

const options = {
  nodePath: "/usr/bin/node",
  mainPath: "/opt/starling/packages/host/dist/main.js",
  configPath: "/home/ada/.config/starling/config.json",
  workdir: "/home/ada/.local/share/starling",
};

describe("renderSystemdUnit", () => {
  it("renders absolute paths into ExecStart and WorkingDirectory", () => {
    const unit = renderSystemdUnit({ ...options, environmentFile: "/home/ada/.config/starling/env" });
    expect(unit).toContain(
      "ExecStart=/usr/bin/node /opt/starling/packages/host/dist/main.js --config /home/ada/.config/starling/config.json --workdir /home/ada/.local/share/starling",
    );
    expect(unit).toContain("WorkingDirectory=/home/ada/.local/share/starling\n");
    expect(unit).toContain("\nEnvironmentFile=-/home/ada/.config/starling/env\n");
    expect(unit).toContain("\nRestart=on-failure\n");
    expect(unit).toContain("\nWantedBy=default.target\n");
    expect(unit).not.toMatch(/\{\{/);
    const exec = /^ExecStart=(.*)$/m.exec(unit)?.[1] ?? "";
    for (const arg of exec.split(" ").filter((a) => !a.startsWith("--"))) expect(arg.startsWith("/")).toBe(true);
  });

  it("leaves a commented EnvironmentFile= hint when none is given", () => {
    expect(renderSystemdUnit(options)).toMatch(/^# EnvironmentFile=/m);
  });

  it("quotes paths with spaces and escapes % specifiers", () => {
    const unit = renderSystemdUnit({ ...options, workdir: "/home/ada/My Starling", configPath: "/home/ada/100%.json" });
    expect(unit).toContain('--config /home/ada/100%%.json --workdir "/home/ada/My Starling"');
    expect(unit).toContain("WorkingDirectory=/home/ada/My Starling\n");
  });

  it("refuses relative paths", () => {
    expect(() => renderSystemdUnit({ ...options, configPath: "config.json" })).toThrow(/configPath must be an absolute path/);
  });
});
