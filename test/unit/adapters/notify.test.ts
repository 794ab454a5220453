import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { noticeBody, noticeText, sendNotice, type Notice } from "../../../src/adapters/notify.js";
import { addSecret } from "../../../src/log.js";
import { captureLogger } from "../helpers/fakes.js";

const notice = (patch: Partial<Notice> = {}): Notice => ({
  event: "deploy",
  outcome: "failed",
  ok: false,
  app: "demo",
  host: "web1",
  id: "ab12cd34",
  from: { color: "blue", sha: "a".repeat(40) },
  to: { color: "green", sha: "b".repeat(40) },
  error: "the pre_switch hook failed",
  durationMs: 1500,
  ...patch,
});

describe("noticeText", () => {
  it("says what happened in one line", () => {
    expect(noticeText(notice())).toBe(
      "❌ demo on web1: deploy failed, bbbbbbbbbbbb (green) from aaaaaaaaaaaa (blue) in 1.5 s: the pre_switch hook failed",
    );
  });
});

describe("noticeBody", () => {
  it("scrubs every registered env-file value from the text and the fields", () => {
    addSecret("notify-planted-s3cret");
    const body = noticeBody(notice({ error: "migration: password notify-planted-s3cret rejected" }));
    expect(body).not.toContain("notify-planted-s3cret");
    const parsed = JSON.parse(body) as { text: string; error: string; id: string };
    expect(parsed.error).toBe("migration: password [redacted] rejected");
    expect(parsed.text).toContain(": migration: password [redacted] rejected");
    expect(parsed.id).toBe("ab12cd34");
  });
});

describe("sendNotice", () => {
  let server: Server;
  let bodies: string[];
  let url: string;
  beforeEach(async () => {
    bodies = [];
    server = createServer((req, res) => {
      let body = "";
      req.on("data", (c: Buffer) => (body += c.toString()));
      req.on("end", () => {
        bodies.push(body);
        res.end("ok");
      });
    });
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`;
  });
  afterEach(() => new Promise<void>((r) => server.close(() => r())));

  it("POSTs a body without the planted secret", async () => {
    addSecret("posted-planted-s3cret");
    await sendNotice(
      url,
      5,
      notice({ error: "git: https://x:posted-planted-s3cret@h/r" }),
      captureLogger().log,
    );
    expect(bodies).toHaveLength(1);
    expect(bodies[0]).not.toContain("posted-planted-s3cret");
    expect((JSON.parse(bodies[0]!) as { error: string }).error).toBe("git: https://x:[redacted]@h/r");
  });
});
