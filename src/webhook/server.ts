// The HTTP side of the listener (node:http): what is refused from the headers alone, body size and
// memory limits, a connection cap, timeouts that act within seconds, and the log lines (refusals in
// aggregate, accepted deliveries one by one).
import http from "node:http";
import type { Socket } from "node:net";
import type { Logger } from "../log.js";
import { printable } from "./clean.js";
import { route, type Headers, type HookAnswer, type HookStart } from "./handler.js";
import { RejectionLog, type RejectionLogOptions } from "./rejections.js";

export const MAX_BODY_BYTES = 1024 * 1024;
// Forges give up after 10 s (GitHub) and retry or mark the delivery failed; answer well before.
export const ANSWER_WITHIN_MS = 9000;
// A forge (or nginx in front) sends headers in one go and a body of at most 1 MB at once: slow
// senders are cut within seconds, not the 30 s Node's own check takes by default.
export const HEADERS_TIMEOUT_MS = 4000;
export const REQUEST_TIMEOUT_MS = 8000;
export const IDLE_TIMEOUT_MS = 4000;
export const CHECK_EVERY_MS = 500;
// Well above any forge's concurrency, well below what MemoryMax=256M holds (a few KB each).
export const MAX_CONNECTIONS = 512;
// Bodies being received, all requests together: 8 full ones (a push is rarely over 100 KB). Beyond, 503 until some are done.
export const MAX_BUFFERED_BYTES = 8 * MAX_BODY_BYTES;
// After a refusal the connection closes; this long for the answer to leave before it is cut.
const LINGER_MS = 500;

export interface ListenerOptions {
  app: string;
  log: Logger;
  /** Decides from the headers what to do with a hook delivery (see startHook). */
  start(headers: Headers): HookStart;
  maxBodyBytes?: number;
  answerWithinMs?: number;
  headersTimeoutMs?: number;
  requestTimeoutMs?: number;
  idleTimeoutMs?: number;
  checkEveryMs?: number;
  maxConnections?: number;
  maxBufferedBytes?: number;
  rejections?: Omit<RejectionLogOptions, "log">;
}

interface Conn {
  /** Requests seen on this connection. */
  requests: number;
  /** A request is in progress (its body arriving, or its answer being made). */
  busy: boolean;
}

const TIMEOUT_ANSWER = "HTTP/1.1 408 Request Timeout\r\nConnection: close\r\nContent-Length: 0\r\n\r\n";
const BAD_ANSWER = "HTTP/1.1 400 Bad Request\r\nConnection: close\r\nContent-Length: 0\r\n\r\n";
const TOO_LARGE_HEADERS =
  "HTTP/1.1 431 Request Header Fields Too Large\r\nConnection: close\r\nContent-Length: 0\r\n\r\n";

export function createListener(opts: ListenerOptions): http.Server {
  const maxBody = opts.maxBodyBytes ?? MAX_BODY_BYTES;
  const within = opts.answerWithinMs ?? ANSWER_WITHIN_MS;
  const maxBuffered = opts.maxBufferedBytes ?? MAX_BUFFERED_BYTES;
  const rejections = new RejectionLog({ ...opts.rejections, log: opts.log });
  const conns = new WeakMap<Socket, Conn>();
  let buffered = 0;

  const onRequest = (req: http.IncomingMessage, res: http.ServerResponse, expectsContinue: boolean) => {
    const started = performance.now();
    const conn = conns.get(req.socket) ?? { requests: 0, busy: false };
    conns.set(req.socket, conn);
    conn.requests++;
    conn.busy = true;
    let answered = false;
    let reserved = 0;
    const release = () => {
      buffered -= reserved;
      reserved = 0;
    };
    const done = () => {
      conn.busy = false;
      clearTimeout(deadline);
      release();
    };
    res.once("close", done);

    const reply = (answer: HookAnswer, close = false) => {
      if (answered) return;
      answered = true;
      clearTimeout(deadline);
      release();
      const body = req.method === "HEAD" ? "" : JSON.stringify(answer.body) + "\n";
      res.writeHead(answer.status, {
        "content-type": "application/json",
        "cache-control": "no-store",
        ...(close ? { connection: "close" } : {}),
        ...answer.headers,
      });
      res.end(body);
      // What is left of the body is never read: the socket closes once the answer is out.
      if (close) {
        req.pause();
        res.once("finish", () => setTimeout(() => req.socket.destroy(), LINGER_MS).unref());
      }
      logAnswer(req, answer, Math.round(performance.now() - started));
    };
    const deadline = setTimeout(() => {
      reply(
        { status: 503, body: { error: "no answer in time; try again" }, note: { reason: "deadline" } },
        true,
      );
      req.destroy();
    }, within);

    const r = route(req.method, req.url, opts.app);
    if (r.kind === "answer") return reply(r.answer, true);
    if (r.kind === "health") return reply({ status: 200, body: { ok: true } });

    // From the headers alone: a missing or malformed signature (or a wrong GitLab token) is
    // answered at once, without a 100 Continue and without reading the body.
    const start = opts.start(req.headers);
    if (start.kind === "answer") return reply(start.answer, true);

    const tooLarge = () =>
      reply(
        { status: 413, body: { error: `body larger than ${maxBody} bytes` }, note: { reason: "too large" } },
        true,
      );
    const busy = () =>
      reply(
        {
          status: 503,
          body: { error: "too many deliveries arriving at once; try again" },
          headers: { "retry-after": "5" },
          note: { reason: "busy" },
        },
        true,
      );
    const reserve = (n: number): boolean => {
      if (buffered + n > maxBuffered) return false;
      buffered += n;
      reserved += n;
      return true;
    };
    // Node's parser refuses a malformed Content-Length; 0 when there is none (chunked).
    const declared = Math.max(0, Number(req.headers["content-length"] ?? 0) || 0);
    if (declared > maxBody) return tooLarge();
    if (!reserve(declared)) return busy();
    if (expectsContinue) res.writeContinue();

    const chunks: Buffer[] = [];
    let size = 0;
    req.on("data", (chunk: Buffer) => {
      if (answered) return;
      size += chunk.length;
      if (size > maxBody) {
        chunks.length = 0;
        return tooLarge();
      }
      // A chunked body (no Content-Length) reserves as it comes.
      if (size > reserved && !reserve(size - reserved)) {
        chunks.length = 0;
        return busy();
      }
      start.update(chunk);
      chunks.push(chunk);
    });
    req.on("error", () => req.destroy());
    req.on("end", () => {
      if (answered) return;
      start.finish(Buffer.concat(chunks, size)).then(
        (answer) => reply(answer),
        (e: unknown) =>
          reply({
            status: 500,
            body: { error: "internal error" },
            note: { reason: printable(e instanceof Error ? e.message : String(e), 500) },
          }),
      );
    });
  };

  // Accepted deliveries (2xx) and our own failures (500) get a line each; refusals are aggregated;
  // /healthz is polled and only at debug.
  const logAnswer = (req: http.IncomingMessage, answer: HookAnswer, ms: number) => {
    const fields = {
      method: printable(req.method ?? "?", 20),
      path: printable(req.url ?? "", 200),
      status: answer.status,
      remote: req.socket.remoteAddress,
      ms,
      ...answer.note,
    };
    const msg = `${fields.method} ${fields.path} -> ${answer.status}`;
    const reason = typeof answer.note?.reason === "string" ? answer.note.reason : undefined;
    if (answer.status >= 400 && answer.status < 500)
      rejections.note({ status: answer.status, reason: reason ?? String(answer.status), fields, msg });
    else if (answer.status === 503) rejections.note({ status: 503, reason: reason ?? "503", fields, msg });
    else if (answer.status >= 500) opts.log.error(fields, msg);
    else if (fields.path.startsWith("/healthz")) opts.log.debug(fields, msg);
    else opts.log.info(fields, msg);
  };

  const server = http.createServer({
    // How often Node enforces headersTimeout and requestTimeout (default 30 s).
    connectionsCheckingInterval: opts.checkEveryMs ?? CHECK_EVERY_MS,
  });
  server.on("request", (req: http.IncomingMessage, res: http.ServerResponse) => onRequest(req, res, false));
  // Expect: 100-continue: the 100 goes out only once the headers are accepted.
  server.on("checkContinue", (req: http.IncomingMessage, res: http.ServerResponse) =>
    onRequest(req, res, true),
  );
  server.on("connection", (socket: Socket) => conns.set(socket, { requests: 0, busy: false }));
  // A connection idle this long (nothing sent yet, or kept alive after an answer) is closed; one
  // whose answer is being made waits for the answer's own deadline.
  server.setTimeout(opts.idleTimeoutMs ?? IDLE_TIMEOUT_MS);
  server.on("timeout", (socket: Socket) => {
    const conn = conns.get(socket);
    if (conn?.busy) return;
    if (!conn || conn.requests === 0)
      rejections.note({
        status: null,
        reason: "idle",
        fields: { remote: socket.remoteAddress },
        msg: "closed a connection that sent no request",
      });
    socket.destroy();
  });
  // Timeouts and malformed requests, as Node's parser reports them.
  server.on("clientError", (err: NodeJS.ErrnoException, socket: Socket) => {
    if (err.code === "ECONNRESET" || err.code === "EPIPE") return void socket.destroy();
    const timeout = err.code === "ERR_HTTP_REQUEST_TIMEOUT";
    const reason = timeout
      ? conns.get(socket)?.busy
        ? "body timeout"
        : "headers timeout"
      : err.code === "HPE_HEADER_OVERFLOW"
        ? "headers too large"
        : "malformed request";
    const status = timeout ? 408 : err.code === "HPE_HEADER_OVERFLOW" ? 431 : 400;
    // Nothing was answered on this connection yet: say why it closes.
    const answer = socket.writable && socket.bytesWritten === 0;
    rejections.note({
      status: answer ? status : null,
      reason,
      fields: { remote: socket.remoteAddress },
      msg: `closed a connection: ${reason}`,
    });
    if (answer) socket.end(timeout ? TIMEOUT_ANSWER : status === 431 ? TOO_LARGE_HEADERS : BAD_ANSWER);
    setTimeout(() => socket.destroy(), LINGER_MS).unref();
  });
  // Beyond the cap Node closes new connections at once.
  server.maxConnections = opts.maxConnections ?? MAX_CONNECTIONS;
  server.on("drop", (data?: { remoteAddress?: string }) =>
    rejections.note({
      status: null,
      reason: "connection cap",
      fields: { remote: data?.remoteAddress },
      msg: `refused a connection: ${server.maxConnections} already open`,
    }),
  );
  server.headersTimeout = opts.headersTimeoutMs ?? HEADERS_TIMEOUT_MS;
  server.requestTimeout = opts.requestTimeoutMs ?? REQUEST_TIMEOUT_MS;
  server.keepAliveTimeout = 5000;
  server.maxHeadersCount = 100;
  server.on("close", () => rejections.flush());
  return server;
}

/** Resolves once bound; an address in use or not available becomes the error. */
export function listen(server: http.Server, host: string, port: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const onError = (e: Error) => reject(e);
    server.once("error", onError);
    server.listen({ host, port }, () => {
      server.off("error", onError);
      resolve();
    });
  });
}
