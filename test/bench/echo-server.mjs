// Floor for the JSON-RPC round trip: a bare vscode-jsonrpc server on stdio (Content-Length
// framing, same as starling-worker) that answers every request with a canned result.
// Plain JavaScript so it runs on `node` exactly like the compiled worker (no tsx in the child).
import { createRequire } from "node:module";
import { fileURLToPath } from "node:url";

// vscode-jsonrpc is a dependency of @starling/protocol; resolve it from there.
const require = createRequire(fileURLToPath(new URL("../../packages/protocol/package.json", import.meta.url)));
const { createMessageConnection, StreamMessageReader, StreamMessageWriter } = require("vscode-jsonrpc/node");

const connection = createMessageConnection(new StreamMessageReader(process.stdin), new StreamMessageWriter(process.stdout));
let canned = {};
connection.onRequest("bench/setReply", (params) => {
  canned = params;
  return {};
});
connection.onRequest((_method, params) => (Object.keys(canned).length > 0 ? canned : params));
process.stdin.on("end", () => process.exit(0));
connection.listen();
