// What the listener answers, apart from the HTTP plumbing: routing, then for a hook delivery the
// signature, the payload, dedupe and the deploy request. Order matters: nothing about the payload is
// looked at (or revealed) before the signature checks out.
import { createHash } from "node:crypto";
import type { WebhookProvider } from "../config/types.js";
import type { Deliveries } from "./deliveries.js";
import { classify, parseBody } from "./payload.js";
import { verifyGithub, verifyGitlab } from "./signature.js";
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
  if (!m) return { kind: "answer", answer: { status: 404, body: { error: "not found" } } };
  if (m[1] !== app)
    return { kind: "answer", answer: { status: 404, body: { error: "no such app" }, note: { app: m[1] } } };
  if (method !== "POST") return { kind: "answer", answer: notAllowed("POST") };
  return { kind: "hook" };
}

function notAllowed(allow: string): HookAnswer {
  return { status: 405, body: { error: `method not allowed; use ${allow}` }, headers: { allow } };
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

export async function handleHook(deps: HookDeps, headers: Headers, body: Buffer): Promise<HookAnswer> {
  const github = deps.provider === "github";
  const proof = header(headers, github ? "x-hub-signature-256" : "x-gitlab-token");
  const valid = github ? verifyGithub(deps.secret, body, proof) : verifyGitlab(deps.secret, proof);
  if (!valid) {
    const what = github ? "X-Hub-Signature-256" : "X-Gitlab-Token";
    return {
      status: 401,
      body: { error: proof === undefined ? `missing ${what}` : `${what} does not match` },
      note: { reason: proof === undefined ? "no signature" : "bad signature" },
    };
  }
  const parsed = parseBody(header(headers, "content-type"), body);
  if (!parsed.ok) return { status: 400, body: { error: parsed.error }, note: { reason: parsed.error } };

  const event = header(headers, github ? "x-github-event" : "x-gitlab-event");
  const rawId = header(headers, github ? "x-github-delivery" : "x-gitlab-event-uuid");
  const delivery = rawId !== undefined && DELIVERY_ID.test(rawId) ? rawId : null;
  const note = { event, delivery };
  const verdict = classify(deps.provider, event, parsed.value, deps.branch);
  if (verdict.kind === "ping") return { status: 200, body: { ok: true, pong: true }, note };
  if (verdict.kind === "ignore")
    return { status: 202, body: { ignored: verdict.reason }, note: { ...note, reason: verdict.reason } };

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
      note: { ...note, reason: e instanceof Error ? e.message : String(e) },
    };
  }
}
