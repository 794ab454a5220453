// The HTTP side of the listener (node:http): body size limit, timeouts, and one log line per request.
import http from "node:http";
import type { Logger } from "../log.js";
import { route, type Headers, type HookAnswer } from "./handler.js";

export const MAX_BODY_BYTES = 1024 * 1024;
// Forges give up after 10 s (GitHub) and retry or mark the delivery failed; answer well before.
export const ANSWER_WITHIN_MS = 9000;

export interface ListenerOptions {
  app: string;
  log: Logger;
  handle(headers: Headers, body: Buffer): Promise<HookAnswer>;
  maxBodyBytes?: number;
  answerWithinMs?: number;
}

export function createListener(opts: ListenerOptions): http.Server {
  const maxBody = opts.maxBodyBytes ?? MAX_BODY_BYTES;
  const within = opts.answerWithinMs ?? ANSWER_WITHIN_MS;
  const onRequest = (req: http.IncomingMessage, res: http.ServerResponse) => {
    const started = performance.now();
    let answered = false;
    const reply = (answer: HookAnswer, close = false) => {
      if (answered) return;
      answered = true;
      clearTimeout(deadline);
      const body = req.method === "HEAD" ? "" : JSON.stringify(answer.body) + "\n";
      res.writeHead(answer.status, {
        "content-type": "application/json",
        "cache-control": "no-store",
        ...(close ? { connection: "close" } : {}),
        ...answer.headers,
      });
      res.end(body);
      const fields = {
        method: req.method,
        path: (req.url ?? "").slice(0, 200),
        status: answer.status,
        remote: req.socket.remoteAddress,
        ms: Math.round(performance.now() - started),
        ...answer.note,
      };
      const msg = `${req.method ?? "?"} ${fields.path} -> ${answer.status}`;
      if (answer.status >= 500) opts.log.error(fields, msg);
      else if (answer.status === 401 || answer.status === 413) opts.log.warn(fields, msg);
      else opts.log.info(fields, msg);
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

    const tooLarge = () => {
      // Stop reading: the rest of the body is never buffered. The connection closes after the answer.
      req.pause();
      reply(
        { status: 413, body: { error: `body larger than ${maxBody} bytes` }, note: { reason: "too large" } },
        true,
      );
      res.once("finish", () => setTimeout(() => req.destroy(), 1000).unref());
    };
    const declared = Number(req.headers["content-length"] ?? 0);
    if (declared > maxBody) return tooLarge();

    const chunks: Buffer[] = [];
    let size = 0;
    req.on("data", (chunk: Buffer) => {
      if (answered) return;
      size += chunk.length;
      if (size > maxBody) {
        chunks.length = 0;
        return tooLarge();
      }
      chunks.push(chunk);
    });
    req.on("error", () => req.destroy());
    req.on("end", () => {
      if (answered) return;
      opts.handle(req.headers, Buffer.concat(chunks, size)).then(
        (answer) => reply(answer),
        (e: unknown) =>
          reply({
            status: 500,
            body: { error: "internal error" },
            note: { reason: e instanceof Error ? e.message : String(e) },
          }),
      );
    });
  };
  const server = http.createServer(onRequest);
  // curl and others ask before sending a large body: say 413 at once, without a 100 Continue.
  server.on("checkContinue", (req: http.IncomingMessage, res: http.ServerResponse) => {
    if (Number(req.headers["content-length"] ?? 0) <= maxBody) res.writeContinue();
    onRequest(req, res);
  });
  // Slow or stalled clients cannot hold the listener: whole request in 10 s, headers in 5 s.
  server.headersTimeout = 5000;
  server.requestTimeout = 10_000;
  server.keepAliveTimeout = 5000;
  server.maxHeadersCount = 100;
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
