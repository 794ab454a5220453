// writeUnits: rf-agent's own unit files are rewritten; the operator's drop-ins beside them never are.
// checkoutRelease: only ever the fetch's own unit checks out.
import { mkdir, readdir, readFile, writeFile } from "node:fs/promises";
import path from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { isRfError } from "../../../src/errors.js";
import { planDeploy } from "../../../src/core/plan.js";
import type { RunScope } from "../../../src/ops/actions.js";
import { checkoutRelease, writeUnits } from "../../../src/ops/release.js";
import { testConfig } from "../helpers/config.js";
import { fakeContext, fakeRunner, tempDir } from "../helpers/fakes.js";
import { fakeHost, hostModel } from "../helpers/host.js";

let dir: string;
let cleanup: () => Promise<void>;
beforeEach(async () => ({ dir, cleanup } = await tempDir()));
afterEach(() => cleanup());

describe("writeUnits and the operator's drop-ins", () => {
  it("rewrites only rf-agent's files and leaves override.conf (template and instance) as it was", async () => {
    const { ctx, run } = await fakeHost(dir, hostModel());
    const systemd = path.dirname(ctx.layout.templatePath(ctx.config.services[0]!));
    const mine = {
      [path.join(systemd, "demo-api@.service.d", "override.conf")]: "[Service]\nLimitNOFILE=12345\n",
      [path.join(systemd, "demo-api@blue.service.d", "override.conf")]: "[Service]\nMemoryMax=1G\n",
      [path.join(systemd, "demo-web@green.service.d", "zz-local.conf")]: "[Service]\nNice=5\n",
    };
    for (const [file, text] of Object.entries(mine)) {
      await mkdir(path.dirname(file), { recursive: true });
      await writeFile(file, text);
    }
    // A first install, a change of ours (the network), and the other color.
    expect(await writeUnits(ctx, "blue", "demo")).toBe(true);
    ctx.config.services[0]!.network = "localhost";
    expect(await writeUnits(ctx, "blue", "demo")).toBe(true);
    expect(await writeUnits(ctx, "green", "demo")).toBe(true);
    expect(await writeUnits(ctx, "green", "demo")).toBe(false);

    for (const [file, text] of Object.entries(mine)) expect(await readFile(file, "utf8")).toBe(text);
    expect((await readdir(path.join(systemd, "demo-api@blue.service.d"))).sort()).toEqual([
      "override.conf",
      "rf-agent.conf",
    ]);
    expect(await readFile(ctx.layout.templatePath(ctx.config.services[0]!), "utf8")).toContain(
      "IPAddressDeny=any",
    );
    expect(run.calls.filter((c) => c.args[0] === "daemon-reload")).toHaveLength(3);
  });
});

describe("checkoutRelease", () => {
  it("refuses, as a bug of ours, a checkout with no fetch before it, and runs nothing", async () => {
    const config = testConfig();
    const run = fakeRunner();
    const sha = "a".repeat(40);
    const plan = planDeploy({
      config,
      live: null,
      idle: "blue",
      sha,
      changedFiles: null,
      fallbackToIdle: false,
      noSwitch: false,
    });
    const scope = { ctx: fakeContext(config, { run }), plan, sha, force: false } as unknown as RunScope;
    const caught = await checkoutRelease(scope).then(
      () => null,
      (e: unknown) => e,
    );
    expect(caught).toBeInstanceOf(Error);
    expect(isRfError(caught)).toBe(false);
    expect((caught as Error).message).toBe("checkout step without a fetch before it");
    expect(run.calls).toEqual([]);
    expect(scope.requirements).toBeUndefined();
  });
});
