import { describe, expect, it } from "vitest";
import { unreachable } from "../../src/tools/remote/ssh.js";

describe("ssh failure messages", () => {
  it("name ssh's last stderr lines without the carriage returns ssh ends some of them with", () => {
    // What a file operation got during a silent partition: the mux client's line (CRLF) and the new connection's.
    const stderr = "mux_client_request_session: read from master failed: Broken pipe\r\nConnection timed out during banner exchange\r\n";
    expect(unreachable("partbox", stderr).message).toBe(
      "Cannot reach SSH host partbox: mux_client_request_session: read from master failed: Broken pipe / Connection timed out during banner exchange. " +
        'Check that "partbox" is a Host in ~/.ssh/config, the machine is up, and key login works without a password (ssh -o BatchMode=yes partbox true).',
    );
  });
});
