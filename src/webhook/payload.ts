// The body as JSON, and what a forge's event means for this app: deploy, answer a ping, or ignore.
import type { WebhookProvider } from "../config/types.js";

export type ParsedBody = { ok: true; value: unknown } | { ok: false; error: string };

/**
 * GitHub may be set to send application/x-www-form-urlencoded, with the JSON in `payload`. A form
 * type over a bare JSON body (curl's default) is read as JSON.
 */
export function parseBody(contentType: string | undefined, body: Buffer): ParsedBody {
  let text = body.toString("utf8");
  const form = (contentType ?? "").toLowerCase().startsWith("application/x-www-form-urlencoded");
  if (form && !text.trimStart().startsWith("{")) {
    const payload = new URLSearchParams(text).get("payload");
    if (payload === null) return { ok: false, error: "form body without a payload field" };
    text = payload;
  }
  try {
    return { ok: true, value: JSON.parse(text) as unknown };
  } catch {
    return { ok: false, error: "body is not valid JSON" };
  }
}

export type Verdict =
  | { kind: "ping" }
  | { kind: "deploy"; ref: string; after: string | null }
  | { kind: "ignore"; reason: string };

const ZERO_SHA = /^0+$/;
const SHA = /^[0-9a-f]{40}$|^[0-9a-f]{64}$/;

function field(payload: unknown, name: string): unknown {
  return payload !== null && typeof payload === "object"
    ? (payload as Record<string, unknown>)[name]
    : undefined;
}

function push(payload: unknown, branch: string, deleted: boolean): Verdict {
  const ref = field(payload, "ref");
  const after = field(payload, "after");
  if (typeof ref !== "string") return { kind: "ignore", reason: "push without a ref" };
  const wanted = `refs/heads/${branch}`;
  if (ref !== wanted) return { kind: "ignore", reason: `push to ${ref}, not ${wanted}` };
  // A deleted branch has nothing to deploy; its "after" is all zeros.
  if (deleted || (typeof after === "string" && ZERO_SHA.test(after)))
    return { kind: "ignore", reason: `${wanted} was deleted` };
  return { kind: "deploy", ref, after: typeof after === "string" && SHA.test(after) ? after : null };
}

/** What a verified delivery asks for. `event` is the X-GitHub-Event / X-Gitlab-Event header. */
export function classify(
  provider: WebhookProvider,
  event: string | undefined,
  payload: unknown,
  branch: string,
): Verdict {
  if (provider === "github") {
    if (event === "ping") return { kind: "ping" };
    if (event !== "push")
      return { kind: "ignore", reason: `event ${JSON.stringify(event ?? "")} is not a push` };
    return push(payload, branch, field(payload, "deleted") === true);
  }
  if (event !== "Push Hook")
    return { kind: "ignore", reason: `event ${JSON.stringify(event ?? "")} is not a Push Hook` };
  // GitLab: checkout_sha is null when the push deleted the branch.
  return push(payload, branch, field(payload, "checkout_sha") === null);
}
