import { createHmac } from "node:crypto";
import { describe, expect, it } from "vitest";
import { githubSignature, safeEqual, verifyGithub, verifyGitlab } from "../../../src/webhook/signature.js";

const secret = Buffer.from("it's a secret to everybody");
const body = Buffer.from('{"zen":"Keep it logically awesome."}');

describe("verifyGithub", () => {
  it("accepts sha256= and the hex HMAC-SHA256 of the raw body", () => {
    const header = "sha256=" + createHmac("sha256", secret).update(body).digest("hex");
    expect(githubSignature(secret, body)).toBe(header);
    expect(verifyGithub(secret, body, header)).toBe(true);
  });

  it("matches GitHub's documented test vector", () => {
    // docs.github.com "Validating webhook deliveries": secret and payload below give this signature.
    const header = "sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17";
    expect(
      verifyGithub(Buffer.from("It's a Secret to Everybody"), Buffer.from("Hello, World!"), header),
    ).toBe(true);
  });

  it("refuses a missing, empty, truncated, other-algorithm or other-secret signature", () => {
    const good = githubSignature(secret, body);
    expect(verifyGithub(secret, body, undefined)).toBe(false);
    expect(verifyGithub(secret, body, "")).toBe(false);
    expect(verifyGithub(secret, body, good.slice(0, -1))).toBe(false);
    expect(verifyGithub(secret, body, good.replace("sha256=", "sha1="))).toBe(false);
    expect(verifyGithub(Buffer.from("another secret!!"), body, good)).toBe(false);
    expect(verifyGithub(secret, body, good.toUpperCase())).toBe(false);
  });

  it("refuses a signature of a body that differs by one byte, even only in whitespace", () => {
    const good = githubSignature(secret, body);
    expect(verifyGithub(secret, Buffer.concat([body, Buffer.from("\n")]), good)).toBe(false);
  });

  it("does not throw on a header longer, shorter or not ASCII", () => {
    expect(verifyGithub(secret, body, "sha256=" + "é".repeat(64))).toBe(false);
    expect(verifyGithub(secret, body, "x".repeat(10_000))).toBe(false);
  });
});

describe("verifyGitlab", () => {
  it("accepts the secret itself, and nothing else", () => {
    expect(verifyGitlab(secret, secret.toString())).toBe(true);
    expect(verifyGitlab(secret, undefined)).toBe(false);
    expect(verifyGitlab(secret, "")).toBe(false);
    expect(verifyGitlab(secret, secret.toString() + " ")).toBe(false);
    expect(verifyGitlab(secret, secret.toString().slice(1))).toBe(false);
  });
});

describe("safeEqual", () => {
  it("compares lengths first instead of throwing", () => {
    expect(safeEqual(Buffer.from("abc"), Buffer.from("abc"))).toBe(true);
    expect(safeEqual(Buffer.from("abc"), Buffer.from("abcd"))).toBe(false);
    expect(safeEqual(Buffer.alloc(0), Buffer.alloc(0))).toBe(true);
  });
});
