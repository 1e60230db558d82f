import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";

export type Route = (req: IncomingMessage, res: ServerResponse) => void;

/** A real HTTP server on 127.0.0.1 with routes by path; records the paths it was asked for. */
export interface LocalHttp {
  url: (path: string) => string;
  port: number;
  requests: string[];
  close(): Promise<void>;
}

export async function startLocalHttp(routes: Record<string, Route>): Promise<LocalHttp> {
  const requests: string[] = [];
  const server: Server = createServer((req, res) => {
    const path = new URL(req.url ?? "/", "http://x").pathname;
    requests.push(path);
    const route = routes[path];
    if (route) return route(req, res);
    res.writeHead(404, { "content-type": "text/plain" }).end(`no route ${path}`);
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const port = (server.address() as AddressInfo).port;
  return {
    port,
    requests,
    url: (path) => `http://127.0.0.1:${port}${path}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
