// The worker's life after its modules are loaded: logger, JSON-RPC connection on stdio, signals.
// Called by main.ts (plain start) and by snapshot.ts after a start-up snapshot is deserialised: it
// creates every fd, handle and timer, so none of them is ever captured in a snapshot.
import { createMessageConnection, Message, type ResponseMessage } from "vscode-jsonrpc/node.js";
import { ErrorCodes, FrameReader, FrameWriter, StalledFrameError, WORKER_MAX_FRAME_BYTES } from "@starling/protocol";
import { frameStallMs } from "./frame-stall.js";
import { createWorkerLogger } from "./logger.js";
import { guardStdout } from "./stdout-guard.js";
import { InFlightIds } from "./in-flight-ids.js";
import { RequestGate } from "./request-gate.js";
import { WorkerServer } from "./server.js";

const STDOUT_BACKLOG_BYTES = 8 * 1024 * 1024;

function idReused(id: string | number, method: string): ResponseMessage {
  return {
    jsonrpc: "2.0",
    id,
    error: {
      code: ErrorCodes.InvalidRequest,
      message: `${method}: request id ${JSON.stringify(id)} is already in use by a request not yet answered; use a new id for every request`,
      data: { name: "InvalidRequest" },
    },
  };
}

function byPositionRefused(id: ResponseMessage["id"], method: string): ResponseMessage {
  return {
    jsonrpc: "2.0",
    id,
    error: {
      code: ErrorCodes.InvalidParams,
      message: `${method}: invalid params: params must be an object (by name), not an array`,
      data: { name: "InvalidParams" },
    },
  };
}

export function runWorker(): void {
  guardStdout();
  const log = createWorkerLogger();
  const reader = new FrameReader(process.stdin, WORKER_MAX_FRAME_BYTES, frameStallMs(log));
  // A client that does not read stdout would make the worker buffer its answers without bound: past
  // STDOUT_BACKLOG_BYTES unread, requests wait and stdin is not read until the client catches up.
  const gate = new RequestGate();
  const writer = new FrameWriter(process.stdout, {
    limitBytes: STDOUT_BACKLOG_BYTES,
    onChange: (backlogged) => {
      if (backlogged) {
        log.warn({ unreadBytes: process.stdout.writableLength }, "the client is not reading stdout; requests wait until it does");
        gate.close();
        process.stdin.pause();
      } else {
        process.stdin.resume();
        gate.open();
      }
    },
  });
  // A reused id is refused as the frame is read: vscode-jsonrpc's queue (keyed by id) would drop the
  // earlier request before any message strategy sees it. Every response written frees its id; the
  // worker's own refusals go out through writeFrame.
  const inFlight = new InFlightIds();
  const writeFrame = writer.write.bind(writer);
  writer.write = (message) => {
    inFlight.written(message);
    return writeFrame(message);
  };
  const listen = reader.listen.bind(reader);
  reader.listen = (callback) =>
    listen((message) => {
      if (!Message.isRequest(message) || message.id === null || inFlight.claim(message.id)) return callback(message);
      log.warn({ id: message.id, method: message.method }, "request id already in flight; refused");
      void writeFrame(idReused(message.id, message.method));
    });
  const connection = createMessageConnection(
    reader,
    writer,
    {
      error: (m) => log.error(m),
      warn: (m) => log.warn(m),
      info: (m) => log.info(m),
      log: (m) => log.debug(m),
    },
    {
      // Valid JSON that is no request, notification or response (vscode-jsonrpc would only log it)
      // gets JSON-RPC's Invalid Request error, with the frame's id when it has a usable one.
      messageStrategy: {
        handleMessage: (message, next) => {
          if (Message.isRequest(message)) {
            // vscode-jsonrpc would spread an array over the handler's arguments: [{…}] would pass as {…}.
            if (Array.isArray(message.params)) return void writer.write(byPositionRefused(message.id, message.method));
            return gate.pass(() => next(message));
          }
          if (Message.isNotification(message) || Message.isResponse(message)) return next(message);
          const raw = message as { id?: unknown };
          const id = typeof raw.id === "string" || typeof raw.id === "number" ? raw.id : null;
          log.warn({ id }, "invalid request skipped");
          const response: ResponseMessage = {
            jsonrpc: "2.0",
            id,
            error: {
              code: ErrorCodes.InvalidRequest,
              message: "invalid request: a JSON-RPC 2.0 message needs a string \"method\" (with a string or number \"id\" for a request), or a \"result\"/\"error\" with an id",
            },
          };
          void writer.write(response);
        },
      },
    },
  );

  let exiting = false;
  function exit(code: number): void {
    if (exiting) return;
    exiting = true;
    process.exitCode = code;
    // Give the writer a moment to flush the last response.
    setTimeout(() => process.exit(code), 20).unref();
  }

  const server = new WorkerServer(connection, log, exit);
  server.register();
  // A frame that is not JSON (or has a bad header, or bytes left over from a wrong Content-Length) gets
  // JSON-RPC's parse error with id null; the reader then goes on with the next frame, so the worker keeps serving.
  // A frame that stopped arriving is answered with its id when its first part named one (the client waits
  // on it); written past the in-flight ids, which this frame never claimed.
  reader.onError((err) => {
    log.warn({ err: err.message }, "unreadable frame skipped");
    const response: ResponseMessage = {
      jsonrpc: "2.0",
      id: err instanceof StalledFrameError ? err.id : null,
      error: { code: ErrorCodes.ParseError, message: `parse error: ${err.message}` },
    };
    void writeFrame(response).catch(() => undefined);
  });
  connection.onError(([err]) => log.warn({ err: err.message }, "connection error"));
  connection.onClose(() => void server.shutdown().finally(() => exit(0)));

  // A worker whose host is gone (stdin closed) must not keep its database locked.
  process.stdin.on("end", () => {
    const cut = reader.partial();
    if (cut) {
      const of = cut.declaredBytes === null ? "of its header" : `of its ${cut.declaredBytes} declared bytes`;
      log.warn(cut, `stdin closed in the middle of a frame: ${cut.receivedBytes} ${of} arrived; the frame is dropped`);
    }
    void server.shutdown().finally(() => exit(0));
  });
  for (const signal of ["SIGTERM", "SIGINT"] as const) {
    process.on(signal, () => void server.shutdown().finally(() => exit(0)));
  }
  process.on("uncaughtException", (err) => {
    log.fatal({ err: err.message, stack: err.stack }, "uncaught exception");
    exit(1);
  });
  process.on("unhandledRejection", (err) => log.error({ err: String(err) }, "unhandled rejection"));

  connection.listen();
  // Load core while waiting for `initialize` (a warm spare is then fully warm; a cold start overlaps the two).
  setImmediate(() => void import("@starling/core").catch(() => undefined));
}
