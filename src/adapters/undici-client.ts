// The part of undici rf-agent uses, behind one module that undici.ts imports on first use: undici's
// request API over its Agent, taken from the two modules that hold them rather than from undici's
// index, which also loads fetch, WebSocket, the caches and the mocks (~50 ms of CPU and ~8 MB that a
// health check never uses). Same request as undici's own `request(url, opts)`: an Agent, as its global
// dispatcher is unless set otherwise (rf-agent never sets one).
import type { Dispatcher } from "undici";
import Agent from "undici/lib/dispatcher/agent.js";
import requestOn from "undici/lib/api/api-request.js";

export type RequestOptions = Omit<Dispatcher.RequestOptions, "origin" | "path">;

let agent: Dispatcher | undefined;

/** `url` asked with `opts` (method, headers, body, timeouts, reset), as undici's `request` does. */
export function request(url: string, opts: RequestOptions): Promise<Dispatcher.ResponseData> {
  const u = new URL(url);
  agent ??= new Agent();
  return requestOn.call(agent, { ...opts, origin: u.origin, path: `${u.pathname}${u.search}` });
}
