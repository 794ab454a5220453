// A handler wired to in-memory fakes, and signed GitHub/GitLab deliveries to feed it.
import { DeliveryLog } from "../../../src/webhook/deliveries.js";
import { handleHook, type Headers, type HookDeps } from "../../../src/webhook/handler.js";
import { githubSignature } from "../../../src/webhook/signature.js";
import type { DeployRequest } from "../../../src/webhook/spool.js";

export const SECRET = Buffer.from("0123456789abcdef0123456789abcdef");
export const SHA_A = "a".repeat(40);

export interface Harness {
  deps: HookDeps;
  requests: DeployRequest[];
  handle(headers: Headers, body: Buffer | string): ReturnType<typeof handleHook>;
}

export async function harness(patch: Partial<HookDeps> = {}): Promise<Harness> {
  const requests: DeployRequest[] = [];
  const deps: HookDeps = {
    app: "demo",
    branch: "main",
    provider: "github",
    secret: SECRET,
    deliveries: await DeliveryLog.open(null),
    requestDeploy: (r) => {
      requests.push(r);
      return Promise.resolve("filed");
    },
    now: () => new Date("2025-01-02T03:04:05.000Z"),
    ...patch,
  };
  return {
    deps,
    requests,
    handle: (headers, body) => handleHook(deps, headers, typeof body === "string" ? Buffer.from(body) : body),
  };
}

export function pushBody(ref = "refs/heads/main", after = SHA_A): string {
  return JSON.stringify({ ref, after, before: "b".repeat(40), repository: { full_name: "o/r" } });
}

/** Headers of a GitHub delivery signed with `secret`. */
export function github(event: string, body: string | Buffer, delivery = "d-1", secret = SECRET): Headers {
  return {
    "content-type": "application/json",
    "x-github-event": event,
    "x-github-delivery": delivery,
    "x-hub-signature-256": githubSignature(secret, typeof body === "string" ? Buffer.from(body) : body),
  };
}

export function gitlab(event: string, uuid = "u-1", token = SECRET.toString()): Headers {
  return {
    "content-type": "application/json",
    "x-gitlab-event": event,
    "x-gitlab-event-uuid": uuid,
    "x-gitlab-token": token,
  };
}
