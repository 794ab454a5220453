// Property-based: whatever arrives, the listener never crashes and never requests a deploy without
// a valid signature (GitHub) or token (GitLab).
import type { AddressInfo } from "node:net";
import type http from "node:http";
import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createListener, listen } from "../../../src/webhook/server.js";
import { GITHUB_SIGNATURE, githubSignature } from "../../../src/webhook/signature.js";
import { DeliveryLog } from "../../../src/webhook/deliveries.js";
import { handleHook, startHook, type HookDeps } from "../../../src/webhook/handler.js";
import type { DeployRequest } from "../../../src/webhook/spool.js";
import { captureLogger } from "../helpers/fakes.js";
import { SECRET } from "./helpers.js";

const STATUSES = new Set([200, 202, 400, 401]);

// Bodies: random bytes, random JSON, and plausible pushes to the branch (the ones that would deploy).
const pushLike = fc.record({
  ref: fc.oneof(fc.constant("refs/heads/main"), fc.constant("refs/heads/dev"), fc.string()),
  after: fc.oneof(fc.constant("a".repeat(40)), fc.constant("0".repeat(40)), fc.string(), fc.constant(null)),
  deleted: fc.oneof(fc.boolean(), fc.constant(undefined)),
  checkout_sha: fc.oneof(fc.constant("a".repeat(40)), fc.constant(null)),
});
// A push that deploys when signed, so the properties are exercised past the signature check too.
const deployable = fc
  .string({ maxLength: 40 })
  .map((note) => ({ ref: "refs/heads/main", after: "a".repeat(40), note }));
const body = fc.oneof(
  deployable.map((p) => Buffer.from(JSON.stringify(p))),
  fc.uint8Array({ maxLength: 2048 }).map((b) => Buffer.from(b)),
  fc.json().map((j) => Buffer.from(j)),
  pushLike.map((p) => Buffer.from(JSON.stringify(p))),
);

type SigKind = "valid" | "other-secret" | "mutated" | "random" | "none" | "twice";
const sigKind = fc.constantFrom<SigKind>("valid", "other-secret", "mutated", "random", "none", "twice");

function signature(kind: SigKind, b: Buffer, random: string): string | string[] | undefined {
  const good = githubSignature(SECRET, b);
  switch (kind) {
    case "valid":
      return good;
    case "other-secret":
      return githubSignature(Buffer.from("another secret entirely"), b);
    case "mutated":
      return good.slice(0, -1) + (good.endsWith("0") ? "1" : "0");
    case "random":
      return random;
    case "none":
      return undefined;
    case "twice":
      return [good, good];
  }
}

const githubEvent = fc.oneof(
  { arbitrary: fc.constant("push"), weight: 3 },
  { arbitrary: fc.constantFrom("ping", "issues", undefined), weight: 1 },
  { arbitrary: fc.string(), weight: 1 },
);

const extraHeaders = fc.dictionary(
  fc.oneof(
    fc.constantFrom(
      "x-github-event",
      "x-github-delivery",
      "content-type",
      "x-gitlab-event",
      "x-gitlab-token",
    ),
    fc.string({ minLength: 1, maxLength: 20 }).map((s) => s.toLowerCase()),
  ),
  fc.oneof(fc.constantFrom("push", "ping", "Push Hook", "application/x-www-form-urlencoded"), fc.string()),
  { maxKeys: 6 },
);

async function deps(provider: "github" | "gitlab", requests: DeployRequest[]): Promise<HookDeps> {
  return {
    app: "demo",
    branch: "main",
    provider,
    secret: SECRET,
    deliveries: await DeliveryLog.open(null),
    requestDeploy: (r) => {
      requests.push(r);
      return Promise.resolve("filed");
    },
    now: () => new Date(0),
  };
}

describe("handleHook under random input", () => {
  it("GitHub: deploys only with the exact signature of the exact body", async () => {
    let deployed = 0;
    await fc.assert(
      fc.asyncProperty(
        body,
        sigKind,
        fc.string(),
        extraHeaders,
        githubEvent,
        async (b, kind, random, extra, event) => {
          const requests: DeployRequest[] = [];
          const sig = signature(kind, b, random);
          const headers = {
            ...extra,
            ...(event === undefined ? {} : { "x-github-event": event }),
            "x-hub-signature-256": sig,
          };
          const answer = await handleHook(await deps("github", requests), headers, b);
          expect(STATUSES.has(answer.status)).toBe(true);
          deployed += requests.length;
          if (requests.length > 0) expect(sig).toBe(githubSignature(SECRET, b));
          if (kind !== "valid") {
            expect(answer.status).toBe(401);
            expect(requests).toEqual([]);
          }
        },
      ),
      { numRuns: 1500 },
    );
    expect(deployed).toBeGreaterThan(0);
  });

  it("GitLab: deploys only with the exact token", async () => {
    const token = fc.oneof(
      fc.constant(SECRET.toString()),
      fc.string(),
      fc.constant(SECRET.toString().slice(1)),
      fc.constant(undefined),
    );
    await fc.assert(
      fc.asyncProperty(body, token, extraHeaders, async (b, t, extra) => {
        const requests: DeployRequest[] = [];
        const answer = await handleHook(await deps("gitlab", requests), { ...extra, "x-gitlab-token": t }, b);
        expect(STATUSES.has(answer.status)).toBe(true);
        if (t !== SECRET.toString()) expect(requests).toEqual([]);
      }),
      { numRuns: 1000 },
    );
  });
});

describe("the HTTP listener under random requests", () => {
  let server: http.Server;
  let base: string;
  const requests: DeployRequest[] = [];
  const MAX = 4096;

  beforeAll(async () => {
    const d = await deps("github", requests);
    server = createListener({
      app: "demo",
      log: captureLogger("fatal").log,
      start: (h) => startHook(d, h),
      maxBodyBytes: MAX,
    });
    await listen(server, "127.0.0.1", 0);
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(() => new Promise((r) => server.close(r)));

  it("answers every request with a known status and deploys only signed pushes within the limit", async () => {
    const paths = fc.constantFrom(
      "/hooks/demo",
      "/hooks/demo/",
      "/hooks/other",
      "/healthz",
      "/",
      "/hooks/demo?x",
    );
    const methods = fc.oneof(
      { arbitrary: fc.constant("POST"), weight: 4 },
      { arbitrary: fc.constantFrom("GET", "PUT", "DELETE", "PATCH"), weight: 1 },
    );
    const signing = fc.oneof(
      { arbitrary: fc.constant<SigKind>("valid"), weight: 2 },
      { arbitrary: sigKind, weight: 3 },
    );
    let nonce = 0;
    const size = fc.oneof(
      fc.integer({ min: 0, max: 64 }),
      fc.integer({ min: MAX - 2, max: MAX + 2 }),
      fc.integer({ min: MAX, max: 3 * MAX }),
    );
    await fc.assert(
      fc.asyncProperty(methods, paths, size, signing, fc.string(), async (method, p, n, kind, random) => {
        const before = requests.length;
        // Each body differs (nonce), so the listener's dedupe does not hide a deploy.
        const payload = Buffer.from(
          JSON.stringify({ ref: "refs/heads/main", after: "a".repeat(40), n: ++nonce, pad: "" }).replace(
            '"pad":""',
            `"pad":"${"x".repeat(Math.max(0, n - 60))}"`,
          ),
        );
        const sig = signature(kind, payload, random);
        const headers: Record<string, string> = {
          "x-github-event": "push",
          "x-github-delivery": `${Math.random()}`,
        };
        if (typeof sig === "string") headers["x-hub-signature-256"] = sig;
        const withBody = method !== "GET";
        const r = await fetch(base + p, { method, headers, ...(withBody ? { body: payload } : {}) });
        await r.arrayBuffer();
        expect([200, 202, 400, 401, 404, 405, 413]).toContain(r.status);
        const deployed = requests.length - before;
        if (deployed > 0) {
          expect(kind).toBe("valid");
          expect(method).toBe("POST");
          expect(payload.length).toBeLessThanOrEqual(MAX);
        }
        // Oversize is told from the headers, after the signature header's presence and shape.
        if (method === "POST" && p.startsWith("/hooks/demo") && payload.length > MAX)
          expect(r.status).toBe(GITHUB_SIGNATURE.test(headers["x-hub-signature-256"] ?? "") ? 413 : 401);
      }),
      { numRuns: 300 },
    );
    // The property is not vacuous: valid pushes did get through.
    expect(requests.length).toBeGreaterThan(0);
  }, 30_000); // 300 real HTTP exchanges, on a machine that may be busy
});
