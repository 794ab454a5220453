// The armed switch against files in a temp dir; "nginx" is the fake of helpers/host.ts, which loads
// the include on disk when reloaded and, like nginx, looks at an armed switch's flag on every request.
import { readdir, readFile, writeFile } from "node:fs/promises";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { afterArmedSwitch, armSwitch, settleArmed, switchArmed } from "../../../src/ops/armed-switch.js";
import { parseArmedSwitch, parseLiveInclude, type ArmedSwitch } from "../../../src/core/render.js";
import { servedByNginx, switchTo } from "../../../src/ops/nginx-routing.js";
import type { Config } from "../../../src/config/types.js";
import type { Context } from "../../../src/context.js";
import { sha } from "../helpers/config.js";
import { type fakeRunner, tempDir } from "../helpers/fakes.js";
import { fakeHost, hostModel, type HostModel } from "../helpers/host.js";

let dir: string;
let cleanup: () => Promise<void>;
let slept: number[];
beforeEach(async () => {
  ({ dir, cleanup } = await tempDir());
  slept = [];
  vi.useFakeTimers({ toFake: ["Date"] });
  vi.setSystemTime(new Date("2026-12-03T08:00:00.000Z"));
});
afterEach(async () => {
  vi.useRealTimers();
  await cleanup();
});

const GREEN = { color: "green", sha: sha("b"), fallback: true } as const;

/** blue serving sha a, switched the usual way (site, link and include written, reloaded). */
async function blueServing(opts: { patch?: (c: Config) => void; host?: HostModel } = {}) {
  const host = opts.host ?? hostModel();
  const sleep = async (ms: number) => {
    slept.push(ms);
    vi.setSystemTime(Date.now() + ms);
  };
  const h = await fakeHost(dir, host, { sleep, ...(opts.patch ? { patch: opts.patch } : {}) });
  await switchTo(h.ctx, "blue", sha("a"));
  return { ...h, host };
}

const hups = (run: ReturnType<typeof fakeRunner>) =>
  run.calls.filter((c) => [c.file, ...c.args].join(" ").includes("--signal=HUP nginx.service")).length;
const include = (ctx: Context) => readFile(ctx.layout.liveIncludePath, "utf8");
const flags = (ctx: Context) => readdir(ctx.layout.armedFlagsDir).catch(() => [] as string[]);

async function armed(ctx: Context): Promise<ArmedSwitch> {
  const a = await armSwitch(ctx, GREEN);
  expect(a, "armed").not.toBeNull();
  return a!;
}

describe("armed switch", () => {
  it("serves the new color by its flag with no reload; the plain include is reloaded after, then the flag removed", async () => {
    const { ctx, run, host } = await blueServing();
    const a = await armed(ctx);
    // armed, tested and reloaded: nginx runs it, and serves blue while the flag is missing
    expect(parseArmedSwitch(await include(ctx))).toEqual(a);
    expect(host.armed?.token).toBe(a.token);
    expect(await servedByNginx(ctx)).toEqual({ color: "blue", sha: sha("a") });
    expect(await flags(ctx)).toEqual([]);

    const before = hups(run);
    expect(await switchArmed(ctx, a)).toBe(true);
    expect(hups(run)).toBe(before);
    expect(await servedByNginx(ctx)).toEqual({ color: "green", sha: sha("b") });
    // nginx still runs the armed include: green is served by the flag alone
    expect(host.served).toEqual({ color: "blue", sha: sha("a") });
    expect(parseLiveInclude(await include(ctx))).toEqual(GREEN);
    expect(parseArmedSwitch(await include(ctx))).toBeNull();

    const at = await afterArmedSwitch(ctx);
    expect(at).toBeTypeOf("number");
    expect(hups(run)).toBe(before + 1);
    expect(host.armed).toBeNull();
    expect(host.served).toEqual({ color: "green", sha: sha("b") });
    // the flag stays until the old workers can have taken nothing more
    expect(await flags(ctx)).toEqual([a.token]);
    await settleArmed(ctx, at);
    expect(await flags(ctx)).toEqual([]);
    expect(slept.at(-1)).toBe(1000);
    expect(await servedByNginx(ctx)).toEqual({ color: "green", sha: sha("b") });
  });

  it("a switch never made (the gate failed): settling makes the include plain for blue, as nginx served", async () => {
    const { ctx, host } = await blueServing();
    await armed(ctx);
    await settleArmed(ctx);
    expect(await include(ctx)).not.toMatch(/if \(-f/);
    expect(parseLiveInclude(await include(ctx))).toEqual({ color: "blue", sha: sha("a"), fallback: false });
    expect(host.armed).toBeNull();
    expect(await servedByNginx(ctx)).toEqual({ color: "blue", sha: sha("a") });
    expect(await flags(ctx)).toEqual([]);
  });

  it("a run stopped after the flag was made: the next run settles on green, as nginx serves, and removes the flag", async () => {
    const { ctx, host } = await blueServing();
    const a = await armed(ctx);
    await writeFile(a.flag, "");
    expect(await servedByNginx(ctx)).toEqual({ color: "green", sha: sha("b") });
    await settleArmed(ctx);
    expect(parseLiveInclude(await include(ctx))).toEqual(GREEN);
    expect(parseArmedSwitch(await include(ctx))).toBeNull();
    expect(host.served).toEqual({ color: "green", sha: sha("b") });
    expect(await flags(ctx)).toEqual([]);
  });

  it("a run stopped before the plain include was reloaded: the flag nginx still reads stays until a reload replaces it", async () => {
    const { ctx, run, host } = await blueServing();
    const a = await armed(ctx);
    expect(await switchArmed(ctx, a)).toBe(true);
    // nginx refuses every reload: the armed configuration, reading the flag, keeps running
    host.nginxOk = false;
    await settleArmed(ctx);
    expect(await flags(ctx)).toEqual([a.token]);
    expect(await servedByNginx(ctx)).toEqual({ color: "green", sha: sha("b") });
    // once nginx loads the plain include, the next run removes it
    host.nginxOk = true;
    const before = hups(run);
    await settleArmed(ctx);
    expect(hups(run)).toBe(before + 1);
    expect(host.armed).toBeNull();
    expect(await flags(ctx)).toEqual([]);
    expect(await servedByNginx(ctx)).toEqual({ color: "green", sha: sha("b") });
  });

  it("an nginx that does not see the flag: the flag is removed and the caller switches with a reload", async () => {
    const { ctx, host } = await blueServing();
    const a = await armed(ctx);
    // as with a cached "not found": answers by what it loaded, never by the flag
    const blind: Context = {
      ...ctx,
      get: async (url, o) =>
        url.endsWith("/__rf-agent/live")
          ? { status: 200, body: JSON.stringify({ app: "demo", ...host.served }) }
          : ctx.get(url, o),
    };
    expect(await switchArmed(blind, a)).toBe(false);
    expect(await flags(ctx)).toEqual([]);
    expect(parseArmedSwitch(await include(ctx))).toEqual(a);
    expect(await servedByNginx(ctx)).toEqual({ color: "blue", sha: sha("a") });
  });

  it("is not armed when the switch would change more than the include, or nginx -t refuses", async () => {
    const preview = await blueServing({ patch: (c) => (c.nginx.previewListen = "127.0.0.1:8080") });
    expect(await armSwitch(preview.ctx, GREEN)).toBeNull();
    await cleanup();
    ({ dir, cleanup } = await tempDir());

    const { ctx, run, host } = await blueServing();
    const plain = await include(ctx);
    await writeFile(ctx.layout.sitePath, "# an older rendering\n");
    expect(await armSwitch(ctx, GREEN)).toBeNull();
    expect(await include(ctx)).toBe(plain);
    await switchTo(ctx, "blue", sha("a"));

    host.nginxOk = false;
    const before = hups(run);
    expect(await armSwitch(ctx, GREEN)).toBeNull();
    expect(await include(ctx)).toBe(plain);
    expect(hups(run)).toBe(before);
    // the color already served is never armed
    host.nginxOk = true;
    expect(await armSwitch(ctx, { color: "blue", sha: sha("c"), fallback: false })).toBeNull();
  });
});
