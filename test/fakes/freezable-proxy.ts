import { createServer, type Server, type Socket, connect } from "node:net";

/**
 * A TCP forwarder on 127.0.0.1 that can go silent: after `freeze()` every byte in either direction is
 * dropped and no connection is closed, as a network partition (cable pulled, NAT state lost, no RST)
 * looks to both ends. Not a fake of our code: it stands in for the network between the worker and an
 * SSH host.
 */
export interface FreezableProxy {
  port: number;
  /** Drops all traffic from now on, on open and new connections; nothing is closed. */
  freeze(): void;
  stop(): Promise<void>;
}

export async function startFreezableProxy(targetPort: number): Promise<FreezableProxy> {
  let frozen = false;
  const sockets = new Set<Socket>();
  const track = (socket: Socket): void => {
    sockets.add(socket);
    socket.on("error", () => undefined);
    socket.on("close", () => sockets.delete(socket));
  };
  const server: Server = createServer((client) => {
    track(client);
    const upstream = connect(targetPort, "127.0.0.1");
    track(upstream);
    const forward = (from: Socket, to: Socket): void => {
      from.on("data", (chunk: Buffer) => {
        if (!frozen) to.write(chunk);
      });
      // An end seen after the partition never reaches the other side.
      from.on("close", () => {
        if (!frozen) to.destroy();
      });
    };
    forward(client, upstream);
    forward(upstream, client);
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const address = server.address();
  if (address === null || typeof address === "string") throw new Error("no port");
  return {
    port: address.port,
    freeze: () => {
      frozen = true;
    },
    async stop() {
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
