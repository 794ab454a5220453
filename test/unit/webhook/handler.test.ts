import { describe, expect, it } from "vitest";
import { route, startHook } from "../../../src/webhook/handler.js";
import { github, gitlab, harness, pushBody, SHA_A } from "./helpers.js";

describe("route", () => {
  it("serves GET and HEAD /healthz, and refuses other methods with 405 and Allow", () => {
    expect(route("GET", "/healthz", "demo")).toEqual({ kind: "health" });
    expect(route("HEAD", "/healthz?x=1", "demo")).toEqual({ kind: "health" });
    expect(route("POST", "/healthz", "demo")).toMatchObject({
      answer: { status: 405, headers: { allow: "GET" } },
    });
  });

  it("takes POST /hooks/<app>, with or without a trailing slash or a query", () => {
    expect(route("POST", "/hooks/demo", "demo")).toEqual({ kind: "hook" });
    expect(route("POST", "/hooks/demo/", "demo")).toEqual({ kind: "hook" });
    expect(route("POST", "/hooks/demo?x=y", "demo")).toEqual({ kind: "hook" });
  });

  it("answers 404 for another app or path, 405 for another method", () => {
    expect(route("POST", "/hooks/other", "demo")).toMatchObject({ answer: { status: 404 } });
    expect(route("POST", "/hooks/", "demo")).toMatchObject({ answer: { status: 404 } });
    expect(route("POST", "/hooks/demo/x", "demo")).toMatchObject({ answer: { status: 404 } });
    expect(route("GET", "/", "demo")).toMatchObject({ answer: { status: 404 } });
    expect(route("GET", "/hooks/demo", "demo")).toMatchObject({
      answer: { status: 405, headers: { allow: "POST" } },
    });
    expect(route("PUT", "/hooks/demo", "demo")).toMatchObject({ answer: { status: 405 } });
  });
});

describe("handleHook: GitHub", () => {
  it("requests a deploy for a signed push to the branch, with delivery id, hint and time", async () => {
    const h = await harness();
    const body = pushBody();
    const a = await h.handle(github("push", body, "72d3162e-cc78-11e3-81ab-4c9367dc0958"), body);
    expect(a.status).toBe(202);
    expect(a.body).toEqual({
      deploy: "requested",
      delivery: "72d3162e-cc78-11e3-81ab-4c9367dc0958",
      after: SHA_A,
    });
    expect(h.requests).toEqual([
      {
        delivery: "72d3162e-cc78-11e3-81ab-4c9367dc0958",
        after: SHA_A,
        receivedAt: "2025-01-02T03:04:05.000Z",
        provider: "github",
      },
    ]);
  });

  it("answers a ping 200 without a deploy", async () => {
    const h = await harness();
    const body = '{"zen":"Design for failure."}';
    const a = await h.handle(github("ping", body), body);
    expect(a).toMatchObject({ status: 200, body: { ok: true } });
    expect(h.requests).toEqual([]);
  });

  it("answers 401 to a missing or wrong signature, before looking at the body", async () => {
    const h = await harness();
    const body = pushBody();
    const { "x-hub-signature-256": _sig, ...unsigned } = github("push", body);
    expect(await h.handle(unsigned, body)).toMatchObject({
      status: 401,
      body: { error: "missing X-Hub-Signature-256" },
    });
    const forged = github("push", body, "d-1", Buffer.from("not the secret at all"));
    expect(await h.handle(forged, body)).toMatchObject({
      status: 401,
      body: { error: "X-Hub-Signature-256 does not match" },
    });
    // malformed JSON with a bad signature is still 401: nothing is parsed unsigned
    expect((await h.handle(forged, "{not json")).status).toBe(401);
    expect(h.requests).toEqual([]);
  });

  it("refuses a signature sent twice", async () => {
    const h = await harness();
    const body = pushBody();
    const headers = github("push", body);
    const sig = headers["x-hub-signature-256"] as string;
    expect((await h.handle({ ...headers, "x-hub-signature-256": [sig, sig] }, body)).status).toBe(401);
  });

  it("answers 400 to a signed body that is not JSON", async () => {
    const h = await harness();
    const a = await h.handle(github("push", "{oops"), "{oops");
    expect(a).toMatchObject({ status: 400, body: { error: "body is not valid JSON" } });
    expect(h.requests).toEqual([]);
  });

  it("answers 202 with the reason for another branch, a tag, a deletion, another event", async () => {
    const h = await harness();
    const cases: [string, string, string][] = [
      ["push", pushBody("refs/heads/feature"), "push to refs/heads/feature, not refs/heads/main"],
      ["push", pushBody("refs/tags/v1"), "push to refs/tags/v1, not refs/heads/main"],
      ["push", pushBody("refs/heads/main", "0".repeat(40)), "refs/heads/main was deleted"],
      ["issues", pushBody(), 'event "issues" is not a push'],
    ];
    for (const [event, body, reason] of cases) {
      expect(await h.handle(github(event, body, `id-${reason.length}`), body)).toMatchObject({
        status: 202,
        body: { ignored: reason },
      });
    }
    expect(h.requests).toEqual([]);
  });

  it("deploys a delivery once: the same id again, or the same body under a new id, is ignored", async () => {
    const h = await harness();
    const body = pushBody();
    expect((await h.handle(github("push", body, "d-1"), body)).body).toMatchObject({ deploy: "requested" });
    expect(await h.handle(github("push", body, "d-1"), body)).toMatchObject({
      status: 202,
      body: { ignored: "delivery d-1 was already received" },
    });
    expect((await h.handle(github("push", body, "d-2"), body)).body).toMatchObject({
      ignored: expect.any(String),
    });
    const other = pushBody("refs/heads/main", "c".repeat(40));
    expect((await h.handle(github("push", other, "d-1"), other)).body).toMatchObject({
      ignored: expect.any(String),
    });
    const fresh = pushBody("refs/heads/main", "d".repeat(40));
    expect((await h.handle(github("push", fresh, "d-3"), fresh)).body).toMatchObject({ deploy: "requested" });
    expect(h.requests.map((r) => r.delivery)).toEqual(["d-1", "d-3"]);
  });

  it("decides from the headers alone when the signature is missing or malformed", async () => {
    const h = await harness();
    const body = pushBody();
    const { "x-hub-signature-256": _sig, ...unsigned } = github("push", body);
    expect(startHook(h.deps, unsigned)).toMatchObject({ kind: "answer", answer: { status: 401 } });
    expect(startHook(h.deps, { ...unsigned, "x-hub-signature-256": "sha1=abc" })).toMatchObject({
      kind: "answer",
      answer: { status: 401, note: { reason: "malformed signature" } },
    });
    expect(startHook(h.deps, github("push", body)).kind).toBe("body");
  });

  it("verifies a body given in chunks as it would be over a body given whole", async () => {
    const h = await harness();
    const body = Buffer.from(pushBody());
    const start = startHook(h.deps, github("push", body, "d-7"));
    if (start.kind !== "body") throw new Error("expected a body to read");
    for (let i = 0; i < body.length; i += 7) start.update(body.subarray(i, i + 7));
    expect(await start.finish(body)).toMatchObject({ status: 202, body: { deploy: "requested" } });
    const again = startHook(h.deps, github("push", body, "d-8"));
    if (again.kind !== "body") throw new Error("expected a body to read");
    again.update(body.subarray(0, 10)); // a chunk short: the HMAC differs
    expect((await again.finish(body)).status).toBe(401);
  });

  it("strips control characters from the event and reasons it reports", async () => {
    const h = await harness();
    const body = pushBody("refs/heads/\u001b[2Jx\u202e");
    const a = await h.handle(github("push", body, "d-5"), body);
    expect(a.status).toBe(202);
    expect(JSON.stringify(a)).not.toContain("\\u001b");
    expect(JSON.stringify(a)).not.toContain("\u202e");
    expect(a.body).toMatchObject({ ignored: "push to refs/heads/x, not refs/heads/main" });
    const other = await h.handle({ ...github("pu\u0007sh", body, "d-6") }, body);
    expect(other.note?.event).toBe("push");
    expect(other.body).toMatchObject({ ignored: expect.stringMatching(/is not a push/) });
    expect(h.requests).toEqual([]);
  });

  it("keeps a delivery id it cannot trust out of the request", async () => {
    const h = await harness();
    const body = pushBody();
    await h.handle(github("push", body, "x\n{evil}"), body);
    expect(h.requests[0]?.delivery).toBeNull();
  });

  it("answers 500 when the request cannot be filed, and lets the retry through", async () => {
    let fail = true;
    const h = await harness({
      requestDeploy: () => (fail ? Promise.reject(new Error("disk full")) : Promise.resolve("filed")),
    });
    const body = pushBody();
    expect((await h.handle(github("push", body, "d-9"), body)).status).toBe(500);
    fail = false;
    expect((await h.handle(github("push", body, "d-9"), body)).body).toMatchObject({ deploy: "requested" });
  });

  it("says so when enough requests are already pending", async () => {
    const h = await harness({ requestDeploy: () => Promise.resolve("collapsed") });
    const body = pushBody();
    expect((await h.handle(github("push", body), body)).body).toMatchObject({ deploy: "already requested" });
  });
});

describe("handleHook: GitLab", () => {
  it("requests a deploy for a Push Hook with the right token, deduped by event UUID", async () => {
    const h = await harness({ provider: "gitlab" });
    const body = JSON.stringify({
      object_kind: "push",
      ref: "refs/heads/main",
      after: SHA_A,
      checkout_sha: SHA_A,
    });
    expect(await h.handle(gitlab("Push Hook", "u-1"), body)).toMatchObject({
      status: 202,
      body: { deploy: "requested" },
    });
    expect((await h.handle(gitlab("Push Hook", "u-1"), body)).body).toMatchObject({
      ignored: expect.any(String),
    });
    expect(h.requests).toMatchObject([{ delivery: "u-1", provider: "gitlab" }]);
  });

  it("answers 401 to a wrong or missing token, and to GitHub's headers", async () => {
    const h = await harness({ provider: "gitlab" });
    const body = pushBody();
    expect((await h.handle(gitlab("Push Hook", "u-1", "wrong"), body)).status).toBe(401);
    const { "x-gitlab-token": _t, ...none } = gitlab("Push Hook");
    expect((await h.handle(none, body)).status).toBe(401);
    expect((await h.handle(github("push", body), body)).status).toBe(401);
    expect(h.requests).toEqual([]);
  });
});
