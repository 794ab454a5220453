// [trigger] and [webhook]: the timer's schedule and the webhook listener's address, secret and provider.
import { describe, expect, it } from "vitest";
import { parseConfig } from "../../../src/config/load.js";
import { problemOf, problemsOf, SOURCE, withLines } from "./helpers.js";

const parse = (text: string) => parseConfig(text, SOURCE);

describe("[trigger]", () => {
  it("has no schedule by default: no timer", () => {
    expect(parse(withLines()).trigger).toEqual({ schedule: null });
  });

  it("keeps an OnCalendar expression as written, trimmed", () => {
    expect(parse(withLines("[trigger]", "schedule = *:0/5")).trigger.schedule).toBe("*:0/5");
    expect(parse(withLines("[trigger]", "schedule = Mon..Fri 03:00 ; nightly")).trigger.schedule).toBe(
      "Mon..Fri 03:00",
    );
  });

  it("treats an empty schedule as no timer", () => {
    expect(parse(withLines("[trigger]", "schedule =")).trigger.schedule).toBeNull();
  });

  it("refuses a % (a systemd specifier) in the schedule", () => {
    expect(problemOf(withLines("[trigger]", "schedule = %H:00"))).toBe(
      '[trigger] schedule: must be a systemd OnCalendar expression (no % or \\), e.g. "*:0/5" or "Mon..Fri 03:00", got "%H:00"',
    );
  });

  it("suggests the key a typo meant", () => {
    expect(problemOf(withLines("[trigger]", "schedul = daily"))).toBe(
      '[trigger] schedul: unknown key; did you mean "schedule"?',
    );
  });
});

describe("[webhook]", () => {
  it("defaults to loopback port 9000, the secret in /etc/rf-agent, GitHub", () => {
    expect(parse(withLines()).webhook).toEqual({
      listen: { host: "127.0.0.1", port: 9000 },
      secretFile: "/etc/rf-agent/webhook.secret",
      provider: "github",
    });
  });

  it.each([
    ["0.0.0.0:9443", { host: "0.0.0.0", port: 9443 }],
    ["[::1]:9000", { host: "::1", port: 9000 }],
    ["[::]:65535", { host: "::", port: 65535 }],
    ["10.0.0.5:1024", { host: "10.0.0.5", port: 1024 }],
  ])("reads listen = %s", (listen, expected) => {
    expect(parse(withLines("[webhook]", `listen = ${listen}`)).webhook.listen).toEqual(expected);
  });

  it.each(["9000", "localhost:9000", "127.0.0.1", "300.0.0.1:9000", "::1:9000", "127.0.0.1:x"])(
    "refuses listen = %s",
    (listen) => {
      expect(problemOf(withLines("[webhook]", `listen = ${listen}`))).toMatch(
        /^\[webhook\] listen: must be IP:PORT/,
      );
    },
  );

  it("refuses a privileged port: the listener has no capabilities", () => {
    expect(problemOf(withLines("[webhook]", "listen = 127.0.0.1:443"))).toBe(
      '[webhook] listen: port must be from 1024 to 65535 (the listener runs without privileges to bind lower ports), got "127.0.0.1:443"',
    );
  });

  it("refuses a port nginx or a service already uses, when listen is set", () => {
    expect(problemOf(withLines("[nginx]", "listen = 8080", "[webhook]", "listen = 127.0.0.1:8080"))).toBe(
      "[webhook] listen: port 8080 is also the port nginx listens on ([nginx] listen)",
    );
    expect(problemOf(withLines("[webhook]", "listen = 127.0.0.1:8001"))).toBe(
      "[webhook] listen: port 8001 is also a port of [service.api]",
    );
  });

  it("lets a config whose service uses port 9000 load: the default is checked by install", () => {
    const text = withLines("[service.api]", "command = uvicorn main:app --port {port}", "ports = 9000, 9001");
    expect(parse(text).webhook.listen.port).toBe(9000);
  });

  it("takes gitlab as provider and refuses others", () => {
    expect(parse(withLines("[webhook]", "provider = gitlab")).webhook.provider).toBe("gitlab");
    expect(problemOf(withLines("[webhook]", "provider = bitbucket"))).toBe(
      '[webhook] provider: must be one of github, gitlab, got "bitbucket"',
    );
  });

  it("wants an absolute, plain secret_file", () => {
    expect(parse(withLines("[webhook]", "secret_file = /etc/demo/hook.key")).webhook.secretFile).toBe(
      "/etc/demo/hook.key",
    );
    expect(problemsOf(withLines("[webhook]", "secret_file = hook.key", "provider = github"))).toEqual([
      '[webhook] secret_file: must be an absolute path, got "hook.key"',
    ]);
    expect(problemOf(withLines("[webhook]", "secret_file ="))).toMatch(
      /^\[webhook\] secret_file: must not be empty/,
    );
  });
});
