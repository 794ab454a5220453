import { describe, expect, it } from "vitest";
import { hasHttp2Directive, nginxVersion } from "../../../src/adapters/nginx.js";
import { fakeRunner } from "../helpers/fakes.js";

describe("nginxVersion", () => {
  it("reads `nginx -v`, which prints on stderr", async () => {
    const run = fakeRunner(() => ({ stderr: "nginx version: nginx/1.22.1" }));
    expect(await nginxVersion(run)).toEqual([1, 22, 1]);
    expect(run.calls.map((c) => [c.file, ...c.args])).toEqual([["nginx", "-v"]]);
  });

  it("is null when nginx says nothing readable", async () => {
    expect(await nginxVersion(fakeRunner(() => ({ exitCode: 127, stderr: "not found" })))).toBeNull();
  });
});

describe("hasHttp2Directive", () => {
  it("is true from nginx 1.25.1 on, false before and when unknown", () => {
    expect(hasHttp2Directive([1, 22, 1])).toBe(false);
    expect(hasHttp2Directive([1, 25, 0])).toBe(false);
    expect(hasHttp2Directive([1, 25, 1])).toBe(true);
    expect(hasHttp2Directive([1, 26, 3])).toBe(true);
    expect(hasHttp2Directive([2, 0, 0])).toBe(true);
    expect(hasHttp2Directive(null)).toBe(false);
  });
});
