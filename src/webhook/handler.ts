// What the listener answers, apart from the HTTP plumbing: routing, then for a hook delivery the
// signature, the payload, dedupe and the deploy request. Order matters: nothing about the payload is
// looked at (or revealed) before the signature checks out.
import { createHash } from "node:crypto";
import type { WebhookProvider } from "../config/types.js";
import type { Deliveries } from "./deliveries.js";
import { classify, parseBody } from "./payload.js";
import { printable, printableOrUndefined } from "./clean.js";
import { GITHUB_SIGNATURE, githubVerifier, verifyGitlab } from "./signature.js";
import type { DeployRequest } from "./spool.js";

export interface HookAnswer {
  status: number;
  body: Record<string, unknown>;
  headers?: Record<string, string>;
  /** For the listener's log line; never secrets. */
  note?: Record<string, unknown>;
}

export type Route = { kind: "health" } | { kind: "hook" } | { kind: "answer"; answer: HookAnswer };

const HOOK_PATH = /^\/hooks\/([^/]*)\/?$/;

/** Decided from the request line alone, before a byte of the body is read. */
export function route(method: string | undefined, url: string | undefined, app: string): Route {
  const pathname = (url ?? "/").split("?")[0];
  if (pathname === "/healthz") {
    if (method === "GET" || method === "HEAD") return { kind: "health" };
    return { kind: "answer", answer: notAllowed("GET") };
  }
  const m = HOOK_PATH.exec(pathname ?? "");
  if (!m)
    return {
      kind: "answer",
      answer: { status: 404, body: { error: "not found" }, note: { reason: "not found" } },
    };
  if (m[1] !== app)
    return {
      kind: "answer",
      answer: {
        status: 404,
        body: { error: "no such app" },
        note: { reason: "no such app", app: printable(m[1] ?? "", 100) },
      },
    };
  if (method !== "POST") return { kind: "answer", answer: notAllowed("POST") };
  return { kind: "hook" };
}

function notAllowed(allow: string): HookAnswer {
  return {
    status: 405,
    body: { error: `method not allowed; use ${allow}` },
    headers: { allow },
    note: { reason: "method not allowed" },
  };
}

export interface HookDeps {
  app: string;
  branch: string;
  provider: WebhookProvider;
  secret: Buffer;
  deliveries: Deliveries;
  requestDeploy(request: DeployRequest): Promise<"filed" | "collapsed">;
  now(): Date;
}

export type Headers = Record<string, string | string[] | undefined>;

/** A single header's value; a repeated one counts as absent (a signature is never sent twice). */
function header(headers: Headers, name: string): string | undefined {
  const v = headers[name];
  return typeof v === "string" ? v : undefined;
}

const DELIVERY_ID = /^[A-Za-z0-9._:-]{1,100}$/;

/**
 * What the headers alone decide: an answer at once (the body is never read), or how to take the
 * body: each chunk goes to `update` as it arrives (GitHub's HMAC), then `finish` gets the whole.
 */
export type HookStart =
  | { kind: "answer"; answer: HookAnswer }
  | { kind: "body"; update(chunk: Buffer): void; finish(body: Buffer): Promise<HookAnswer> };

function unauthorized(what: string, error: string, reason: string): HookAnswer {
  return { status: 401, body: { error: `${what} ${error}` }, note: { reason } };
}

export function startHook(deps: HookDeps, headers: Headers): HookStart {
  if (deps.provider === "gitlab") {
    // GitLab's proof is the header itself: decided before a byte of the body.
    const token = header(headers, "x-gitlab-token");
    if (token === undefined)
      return { kind: "answer", answer: unauthorized("missing", "X-Gitlab-Token", "no signature") };
    if (!verifyGitlab(deps.secret, token))
      return { kind: "answer", answer: unauthorized("X-Gitlab-Token", "does not match", "bad signature") };
    return { kind: "body", update: () => undefined, finish: (body) => verified(deps, headers, body) };
  }
  const proof = header(headers, "x-hub-signature-256");
  if (proof === undefined)
    return { kind: "answer", answer: unauthorized("missing", "X-Hub-Signature-256", "no signature") };
  if (!GITHUB_SIGNATURE.test(proof.trim()))
    return {
      kind: "answer",
      answer: unauthorized("X-Hub-Signature-256", "does not match", "malformed signature"),
    };
  const hmac = githubVerifier(deps.secret, proof);
  return {
    kind: "body",
    update: (chunk) => hmac.update(chunk),
    finish: (body) =>
      hmac.matches()
        ? verified(deps, headers, body)
        : Promise.resolve(unauthorized("X-Hub-Signature-256", "does not match", "bad signature")),
  };
}

/** The whole exchange for a body already in hand (tests, and anything not streaming). */
export async function handleHook(deps: HookDeps, headers: Headers, body: Buffer): Promise<HookAnswer> {
  const start = startHook(deps, headers);
  if (start.kind === "answer") return start.answer;
  start.update(body);
  return start.finish(body);
}

// Past the signature: the payload, dedupe and the deploy request.
async function verified(deps: HookDeps, headers: Headers, body: Buffer): Promise<HookAnswer> {
  const github = deps.provider === "github";
  const parsed = parseBody(header(headers, "content-type"), body);
  if (!parsed.ok) return { status: 400, body: { error: parsed.error }, note: { reason: parsed.error } };

  const rawEvent = header(headers, github ? "x-github-event" : "x-gitlab-event");
  const rawId = header(headers, github ? "x-github-delivery" : "x-gitlab-event-uuid");
  // Unsigned headers: an id that is not plainly an id is dropped, never cleaned into one.
  const delivery = rawId !== undefined && DELIVERY_ID.test(rawId) ? rawId : null;
  const note = { event: printableOrUndefined(rawEvent, 100), delivery };
  const verdict = classify(deps.provider, rawEvent, parsed.value, deps.branch);
  if (verdict.kind === "ping") return { status: 200, body: { ok: true, pong: true }, note };
  if (verdict.kind === "ignore") {
    const reason = printable(verdict.reason);
    return { status: 202, body: { ignored: reason }, note: { ...note, reason } };
  }

  // The delivery id header is not signed: the body's digest catches a replay under a new id.
  const keys = [`body:${createHash("sha256").update(body).digest("hex")}`];
  if (delivery) keys.unshift(`delivery:${delivery}`);
  if (deps.deliveries.has(keys)) {
    const reason = `delivery ${delivery ?? "(same body)"} was already received`;
    return { status: 202, body: { ignored: reason }, note: { ...note, reason: "duplicate" } };
  }
  try {
    await deps.deliveries.remember(keys);
    const filed = await deps.requestDeploy({
      delivery,
      after: verdict.after,
      receivedAt: deps.now().toISOString(),
      provider: deps.provider,
    });
    return {
      status: 202,
      body: { deploy: filed === "filed" ? "requested" : "already requested", delivery, after: verdict.after },
      note: { ...note, after: verdict.after, deploy: filed },
    };
  } catch (e) {
    // Not remembered, so the forge's retry can still get through.
    deps.deliveries.forget(keys);
    return {
      status: 500,
      body: { error: "could not file the deploy request" },
      note: { ...note, reason: printable(e instanceof Error ? e.message : String(e), 500) },
    };
  }
}
