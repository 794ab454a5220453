// scripts/shims/http2.cjs stands in for node:http2 in undici's HTTP/2 client inside rf-agent's bundle.
import { readFileSync } from "node:fs";
import http2 from "node:http2";
import { createRequire } from "node:module";
import path from "node:path";
import { describe, expect, it } from "vitest";

const require = createRequire(import.meta.url);
const shim = require(path.resolve("scripts/shims/http2.cjs")) as {
  constants: Record<string, string | number>;
  connect: typeof http2.connect;
};

describe("the node:http2 shim for undici", () => {
  it("has every constant undici's client-h2 names when it loads, with Node's values", () => {
    const source = readFileSync(require.resolve("undici/lib/dispatcher/client-h2.js"), "utf8");
    const block = /const\s*\{\s*constants:\s*\{([^}]*)\}\s*\}\s*=\s*http2/.exec(source);
    expect(
      block,
      "undici's client-h2.js no longer destructures http2.constants: check the shim",
    ).not.toBeNull();
    const names = block![1]!
      .split(",")
      .map((n) => n.trim())
      .filter(Boolean);
    expect(names.length).toBeGreaterThan(5);
    const node = http2.constants as unknown as Record<string, string | number>;
    for (const name of names) expect([name, shim.constants[name]]).toEqual([name, node[name]]);
  });

  it("hands connect to the real node:http2", async () => {
    // port 9 (discard) on loopback: nothing listens, so a real connect is refused
    const session = shim.connect("http://127.0.0.1:9");
    const failed = await new Promise<NodeJS.ErrnoException>((resolve) => session.once("error", resolve));
    expect(typeof session.request).toBe("function");
    expect(failed.code).toBe("ECONNREFUSED");
    session.destroy();
  });
});
