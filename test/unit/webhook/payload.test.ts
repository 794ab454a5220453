import { describe, expect, it } from "vitest";
import { classify, parseBody } from "../../../src/webhook/payload.js";

const A = "a".repeat(40);
const ZERO = "0".repeat(40);

describe("parseBody", () => {
  it("parses a JSON body", () => {
    expect(parseBody("application/json", Buffer.from('{"a":1}'))).toEqual({ ok: true, value: { a: 1 } });
  });

  it("reads the payload field of a form-encoded body (GitHub's other content type)", () => {
    const body = Buffer.from("payload=" + encodeURIComponent('{"ref":"refs/heads/main"}'));
    expect(parseBody("application/x-www-form-urlencoded", body)).toEqual({
      ok: true,
      value: { ref: "refs/heads/main" },
    });
    expect(parseBody("application/x-www-form-urlencoded", Buffer.from("x=1"))).toEqual({
      ok: false,
      error: "form body without a payload field",
    });
  });

  it("reads a bare JSON body sent with the form type (curl's default)", () => {
    expect(parseBody("application/x-www-form-urlencoded", Buffer.from(' {"a":1}'))).toEqual({
      ok: true,
      value: { a: 1 },
    });
  });

  it.each(["", "{", "not json", '{"a":1}}', "\u0000"])("says %j is not JSON", (text) => {
    expect(parseBody("application/json", Buffer.from(text))).toEqual({
      ok: false,
      error: "body is not valid JSON",
    });
  });
});

describe("classify: GitHub", () => {
  const push = (ref: string, after = A, extra: Record<string, unknown> = {}) => ({ ref, after, ...extra });

  it("answers a ping", () => {
    expect(classify("github", "ping", { zen: "z" }, "main")).toEqual({ kind: "ping" });
  });

  it("deploys a push to the branch, with the pushed commit as a hint", () => {
    expect(classify("github", "push", push("refs/heads/main"), "main")).toEqual({
      kind: "deploy",
      ref: "refs/heads/main",
      after: A,
    });
  });

  it("keeps no hint that is not a commit id", () => {
    expect(classify("github", "push", push("refs/heads/main", "$(reboot)"), "main")).toMatchObject({
      kind: "deploy",
      after: null,
    });
  });

  it.each([
    [push("refs/heads/develop"), "push to refs/heads/develop, not refs/heads/main"],
    [push("refs/tags/main"), "push to refs/tags/main, not refs/heads/main"],
    [push("refs/heads/main-2"), "push to refs/heads/main-2, not refs/heads/main"],
    [push("refs/heads/main", ZERO), "refs/heads/main was deleted"],
    [push("refs/heads/main", A, { deleted: true }), "refs/heads/main was deleted"],
    [{ after: A }, "push without a ref"],
    [[], "push without a ref"],
    [null, "push without a ref"],
  ])("ignores %j: %s", (payload, reason) => {
    expect(classify("github", "push", payload, "main")).toEqual({ kind: "ignore", reason });
  });

  it.each(["pull_request", "issues", "", undefined, "Push Hook"])("ignores event %j", (event) => {
    expect(classify("github", event, push("refs/heads/main"), "main").kind).toBe("ignore");
  });
});

describe("classify: GitLab", () => {
  it("deploys a Push Hook to the branch", () => {
    const payload = { object_kind: "push", ref: "refs/heads/main", after: A, checkout_sha: A };
    expect(classify("gitlab", "Push Hook", payload, "main")).toEqual({
      kind: "deploy",
      ref: "refs/heads/main",
      after: A,
    });
  });

  it("never deploys a branch deletion (all-zero after, null checkout_sha)", () => {
    expect(
      classify("gitlab", "Push Hook", { ref: "refs/heads/main", after: ZERO, checkout_sha: null }, "main"),
    ).toEqual({ kind: "ignore", reason: "refs/heads/main was deleted" });
    expect(
      classify("gitlab", "Push Hook", { ref: "refs/heads/main", after: A, checkout_sha: null }, "main").kind,
    ).toBe("ignore");
  });

  it("ignores other events and other branches, and has no ping", () => {
    expect(classify("gitlab", "Tag Push Hook", { ref: "refs/tags/v1" }, "main")).toEqual({
      kind: "ignore",
      reason: 'event "Tag Push Hook" is not a Push Hook',
    });
    expect(classify("gitlab", "ping", {}, "main").kind).toBe("ignore");
    expect(classify("gitlab", "Push Hook", { ref: "refs/heads/dev", after: A }, "main").kind).toBe("ignore");
  });
});
