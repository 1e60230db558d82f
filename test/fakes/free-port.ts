import { createServer } from "node:net";

/**
 * A port free now, for a server to listen on a moment later. Picked below Linux's ephemeral range (32768–60999):
 * a port the kernel handed out for `listen(0)` is soon handed to another process's `listen(0)` or outgoing
 * connection (seen in full runs: a web host failed with EADDRINUSE, and its health checks reached another
 * file's fake model server on that port).
 */
export async function freePort(): Promise<number> {
  for (;;) {
    const port = 20_000 + Math.floor(Math.random() * 12_000);
    const server = createServer();
    const bound = await new Promise<boolean>((resolve) => {
      server.once("error", () => resolve(false));
      server.listen(port, "127.0.0.1", () => resolve(true));
    });
    if (!bound) continue;
    await new Promise((r) => server.close(r));
    return port;
  }
}
