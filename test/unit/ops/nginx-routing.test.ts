// switchTo against files in a temp dir; "nginx" is a fake that loads the include on disk when
// reloaded and answers /__rf-agent/live from what it loaded (helpers/host.ts).
import { lstat, mkdir, readFile, readlink, symlink } from "node:fs/promises";
import path from "node:path";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import type { Config } from "../../../src/config/types.js";
import { parseLiveInclude, renderLiveInclude, renderSite } from "../../../src/core/render.js";
import { RfError } from "../../../src/errors.js";
import { dropFallback, servedByNginx, switchTo } from "../../../src/ops/nginx-routing.js";
import { sha } from "../helpers/config.js";
import { fakeGet, type fakeRunner, ok, tempDir } from "../helpers/fakes.js";
import { fakeHost, hostModel } from "../helpers/host.js";

let dir: string;
let cleanup: () => Promise<void>;
beforeEach(async () => ({ dir, cleanup } = await tempDir()));
afterEach(async () => {
  vi.useRealTimers();
  await cleanup();
});

/** A Debian-style nginx (sites-enabled exists) and services of fakes; see helpers/host.ts. */
function fakeNginx(opts: { testOk?: boolean; patch?: (c: Config) => void } = {}) {
  return fakeHost(dir, hostModel({ nginxOk: opts.testOk ?? true }), { patch: opts.patch });
}

const commands = (run: ReturnType<typeof fakeRunner>) => run.calls.map((c) => [c.file, ...c.args].join(" "));

async function exists(p: string): Promise<boolean> {
  return lstat(p).then(
    () => true,
    () => false,
  );
}

describe("fallback to the color left behind", () => {
  const live = async (ctx: Parameters<typeof dropFallback>[0]) =>
    parseLiveInclude(await readFile(ctx.layout.liveIncludePath, "utf8"));
  const hups = (run: ReturnType<typeof fakeRunner>) =>
    commands(run).filter((c) => c.includes("--signal=HUP nginx.service")).length;

  it("is on when asked, kept when the same color is applied again, and dropped before the idle color starts", async () => {
    const { ctx, run } = await fakeNginx();
    await switchTo(ctx, "green", sha("b"), true);
    expect(await live(ctx)).toEqual({ color: "green", sha: sha("b"), fallback: true });
    await switchTo(ctx, "green", sha("b"));
    expect((await live(ctx))?.fallback).toBe(true);
    const before = hups(run);
    expect(await dropFallback(ctx)).toBe(true);
    expect(await live(ctx)).toEqual({ color: "green", sha: sha("b"), fallback: false });
    expect(hups(run)).toBe(before + 1);
    // twice is the same: nothing to drop, no reload
    expect(await dropFallback(ctx)).toBe(false);
    expect(hups(run)).toBe(before + 1);
    // a new color never inherits it
    await switchTo(ctx, "blue", sha("c"), true);
    await switchTo(ctx, "green", sha("d"));
    expect((await live(ctx))?.fallback).toBe(false);
  });
});

describe("switchTo", () => {
  it("on a fresh host writes the site, enables it, writes the include, tests, reloads and confirms", async () => {
    const { ctx, run, get } = await fakeNginx();
    await switchTo(ctx, "blue", sha("a"));
    const { layout, config } = ctx;
    expect(await readFile(layout.sitePath, "utf8")).toBe(renderSite(config, layout).content);
    expect(await readlink(layout.siteLinkPath)).toBe(layout.sitePath);
    expect(await readFile(layout.liveIncludePath, "utf8")).toBe(
      renderLiveInclude(config, layout, "blue", sha("a")).content,
    );
    expect(commands(run)).toEqual([
      "nginx -t -q",
      "systemctl kill --kill-whom=main --signal=HUP nginx.service",
    ]);
    expect(get.calls.at(-1)).toEqual({
      url: "http://127.0.0.1:80/__rf-agent/live",
      opts: { host: "localhost", timeoutMs: 2000 },
    });
  });

  it("disables Debian's default site when ours is the default server", async () => {
    const { ctx, records } = await fakeNginx();
    await mkdir(path.dirname(ctx.layout.defaultSiteLinkPath), { recursive: true });
    await symlink("/etc/nginx/sites-available/default", ctx.layout.defaultSiteLinkPath);
    await switchTo(ctx, "blue", sha("a"));
    expect(await exists(ctx.layout.defaultSiteLinkPath)).toBe(false);
    expect(
      records.some((r) => r.level === 40 && String(r.msg).startsWith("disabled nginx's default site")),
    ).toBe(true);
  });

  it("leaves the default site alone for a named server", async () => {
    const { ctx, get } = await fakeNginx({ patch: (c) => (c.nginx.serverName = "app.example.com") });
    await mkdir(path.dirname(ctx.layout.defaultSiteLinkPath), { recursive: true });
    await symlink("/etc/nginx/sites-available/default", ctx.layout.defaultSiteLinkPath);
    await switchTo(ctx, "green", sha("b"));
    expect(await readlink(ctx.layout.defaultSiteLinkPath)).toBe("/etc/nginx/sites-available/default");
    expect(get.calls.at(-1)?.opts?.host).toBe("app.example.com");
  });

  it("moves the live color over, leaving an up-to-date site as it was", async () => {
    const { ctx, run } = await fakeNginx();
    await switchTo(ctx, "blue", sha("a"));
    const siteInode = (await lstat(ctx.layout.sitePath)).ino;
    await switchTo(ctx, "green", sha("b"));
    expect(parseLiveInclude(await readFile(ctx.layout.liveIncludePath, "utf8"))).toEqual({
      color: "green",
      sha: sha("b"),
      fallback: false,
    });
    expect((await lstat(ctx.layout.sitePath)).ino).toBe(siteInode);
    expect(
      commands(run).filter((c) => c === "systemctl kill --kill-whom=main --signal=HUP nginx.service"),
    ).toHaveLength(2);
  });

  it("when nginx -t fails, puts every file back, reloads nothing and fails as NGINX", async () => {
    const good = await fakeNginx();
    await switchTo(good.ctx, "blue", sha("a"));
    const site = await readFile(good.ctx.layout.sitePath, "utf8");
    const include = await readFile(good.ctx.layout.liveIncludePath, "utf8");

    // The config changed (another port) and nginx rejects the result.
    const bad = await fakeNginx({ testOk: false, patch: (c) => (c.nginx.listen = 8080) });
    const e = await switchTo(bad.ctx, "green", sha("b")).catch((x: unknown) => x);
    expect(e).toBeInstanceOf(RfError);
    expect(e).toMatchObject({ code: "NGINX", details: "nginx: [emerg] rejected by the test" });
    expect(await readFile(bad.ctx.layout.sitePath, "utf8")).toBe(site);
    expect(await readFile(bad.ctx.layout.liveIncludePath, "utf8")).toBe(include);
    expect(await readlink(bad.ctx.layout.siteLinkPath)).toBe(bad.ctx.layout.sitePath);
    expect(commands(bad.run)).toEqual(["nginx -t -q"]);
  });

  it("when nginx -t fails on a fresh host, leaves no file of ours and restores the default site", async () => {
    const { ctx } = await fakeNginx({ testOk: false });
    await mkdir(path.dirname(ctx.layout.defaultSiteLinkPath), { recursive: true });
    await symlink("/etc/nginx/sites-available/default", ctx.layout.defaultSiteLinkPath);
    await expect(switchTo(ctx, "blue", sha("a"))).rejects.toMatchObject({ code: "NGINX" });
    expect(await exists(ctx.layout.sitePath)).toBe(false);
    expect(await exists(ctx.layout.siteLinkPath)).toBe(false);
    expect(await exists(ctx.layout.liveIncludePath)).toBe(false);
    expect(await readlink(ctx.layout.defaultSiteLinkPath)).toBe("/etc/nginx/sites-available/default");
  });

  it("fails as SWITCH when nginx keeps serving the old color after the reload", async () => {
    const { ctx } = await fakeNginx();
    await switchTo(ctx, "blue", sha("a"));
    // From now on nginx answers "blue" whatever is on disk; each answer takes 4 s of fake time.
    vi.useFakeTimers({ toFake: ["Date"] });
    const stale = fakeGet(() => {
      vi.setSystemTime(Date.now() + 4000);
      return ok(JSON.stringify({ color: "blue", sha: sha("a") }));
    });
    const e = await switchTo({ ...ctx, get: stale }, "green", sha("b")).catch((x: unknown) => x);
    expect(e).toMatchObject({
      code: "SWITCH",
      details: `nginx last answered: blue ${sha("a").slice(0, 12)}`,
    });
    expect(stale.calls.length).toBeGreaterThanOrEqual(2);
    expect(stale.calls.length).toBeLessThanOrEqual(4);
  });
});

describe("switchTo with an nginx -t asked early (checkNginxEarly)", () => {
  const HUP = "systemctl kill --kill-whom=main --signal=HUP nginx.service";
  const early = (ok: boolean) => Promise.resolve({ ok, output: ok ? "" : "nginx: [emerg] early" });

  it("spares the switch its own nginx -t when only the live include changes", async () => {
    const { ctx, run } = await fakeNginx();
    await switchTo(ctx, "blue", sha("a"));
    run.calls.length = 0;
    await switchTo(ctx, "green", sha("b"), false, early(true));
    expect(commands(run)).toEqual([HUP]);
    expect(parseLiveInclude(await readFile(ctx.layout.liveIncludePath, "utf8"))?.color).toBe("green");
  });

  it("does not vouch for a site file that changes, nor when it failed", async () => {
    const fresh = await fakeNginx();
    await switchTo(fresh.ctx, "blue", sha("a"), false, early(true));
    expect(commands(fresh.run)).toEqual(["nginx -t -q", HUP]);
    fresh.run.calls.length = 0;
    await switchTo(fresh.ctx, "green", sha("b"), false, early(false));
    expect(commands(fresh.run)).toEqual(["nginx -t -q", HUP]);
    // Another port: the site file changes with the include.
    const moved = await fakeHost(dir, hostModel(), { patch: (c) => (c.nginx.listen = 8080) });
    await switchTo(moved.ctx, "blue", sha("c"), false, early(true));
    expect(commands(moved.run)).toEqual(["nginx -t -q", HUP]);
  });

  it("when nginx then refuses the reload, asks nginx -t, puts the files back and fails as NGINX", async () => {
    const { ctx, run } = await fakeNginx();
    await switchTo(ctx, "blue", sha("a"));
    const include = await readFile(ctx.layout.liveIncludePath, "utf8");
    run.calls.length = 0;
    // Someone broke nginx's config after the early test: the reload is refused, blue serves on.
    const host = hostModel();
    Object.assign(host, { nginxOk: false });
    const broken = await fakeHost(dir, host);
    vi.useFakeTimers({ toFake: ["Date"] });
    const slow = fakeGet(() => {
      vi.setSystemTime(Date.now() + 4000);
      return ok(JSON.stringify({ color: "blue", sha: sha("a") }));
    });
    const e = await switchTo({ ...broken.ctx, get: slow }, "green", sha("b"), false, early(true)).catch(
      (x: unknown) => x,
    );
    expect(e).toBeInstanceOf(RfError);
    expect(e).toMatchObject({ code: "NGINX", details: "nginx: [emerg] rejected by the test" });
    expect(await readFile(ctx.layout.liveIncludePath, "utf8")).toBe(include);
    expect(commands(broken.run)).toEqual([HUP, "nginx -t -q", HUP]);
  });
});

describe("servedByNginx", () => {
  it("is the color and commit nginx answers", async () => {
    const { ctx } = await fakeNginx();
    await switchTo(ctx, "green", sha("c"));
    expect(await servedByNginx(ctx)).toEqual({ color: "green", sha: sha("c") });
  });

  it("is null when nginx answers nothing of ours, or an unknown color", async () => {
    const { ctx } = await fakeNginx();
    expect(await servedByNginx(ctx)).toBeNull();
    const red = fakeGet(() => ok(JSON.stringify({ color: "red", sha: sha("c") })));
    expect(await servedByNginx({ ...ctx, get: red })).toBeNull();
    const broken = fakeGet(() => {
      throw new Error("socket hang up");
    });
    expect(await servedByNginx({ ...ctx, get: broken })).toBeNull();
  });
});

describe("files written", () => {
  it("are readable by nginx (0644)", async () => {
    const { ctx } = await fakeNginx();
    await switchTo(ctx, "blue", sha("a"));
    for (const p of [ctx.layout.sitePath, ctx.layout.liveIncludePath]) {
      expect((await lstat(p)).mode & 0o777).toBe(0o644);
    }
  });
});
