// What `rf-agent doctor` asks of this host before a first deploy. Each failed check says what to run.
import { statfs } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { lsRemote } from "../adapters/git.js";
import { nginxInstalled, testConfig } from "../adapters/nginx.js";
import { isActive, systemdRunning } from "../adapters/systemd.js";
import { lookupUser } from "../adapters/users.js";
import { hasVenvModule } from "../adapters/venv.js";
export { PYTHON_CHECK } from "../adapters/venv.js";
import { COLORS } from "../config/types.js";
import type { Context } from "../context.js";
import { describeNetwork } from "../core/render.js";
import { isRfError } from "../errors.js";
import { tlsReport, tlsVerdict } from "./certificate.js";
import { checkRequiredEnv } from "./env.js";
import { gitUser } from "./host.js";
import { foreignHolders } from "./ports.js";

export interface CheckResult {
  title: string;
  ok: boolean;
  detail?: string;
  fix?: string;
}

export interface HostCheck {
  title: string;
  run: () => Promise<Omit<CheckResult, "title">>;
}

const GiB = 1024 ** 3;

async function freeBytes(dir: string): Promise<number> {
  // The root may not exist yet: measure the nearest existing parent.
  for (let d = dir; ; d = path.dirname(d)) {
    try {
      const s = await statfs(d);
      return s.bavail * s.bsize;
    } catch {
      if (d === "/") return 0;
    }
  }
}

/** The checks, in the order doctor prints them. */
export function hostChecks(ctx: Context): HostCheck[] {
  const { app } = ctx.config;
  return [
    {
      title: "systemd is the init system",
      run: async () =>
        (await systemdRunning(ctx.run))
          ? { ok: true }
          : { ok: false, fix: "rf-agent needs a host booted with systemd (systemctl is-system-running)" },
    },
    {
      title: "nginx is installed and its config is valid",
      run: async () => {
        if (!(await nginxInstalled(ctx.run))) return { ok: false, fix: "apt-get install nginx" };
        const t = await testConfig(ctx.run);
        if (!t.ok) return { ok: false, detail: t.output, fix: "fix the file `nginx -t` names" };
        if (!(await isActive(ctx.run, "nginx.service")))
          return { ok: false, fix: "systemctl enable --now nginx" };
        return { ok: true };
      },
    },
    {
      title: `${app.python} with the venv module`,
      run: async () =>
        (await hasVenvModule(ctx.run, app.python))
          ? { ok: true }
          : {
              ok: false,
              fix: `apt-get install python3 python3-venv (or set [app] python to an interpreter with venv)`,
            },
    },
    {
      title: `app user ${app.user} exists`,
      run: async () =>
        (await lookupUser(ctx.run, app.user))
          ? { ok: true }
          : {
              ok: false,
              fix: `useradd --system --user-group --home-dir ${app.root} --shell /usr/sbin/nologin ${app.user} (the first rf-agent deploy also does this)`,
            },
    },
    {
      title: `repository ${app.repo} is reachable, branch ${app.branch} exists`,
      run: async () => {
        try {
          const sha = await lsRemote(app.repo, app.branch, gitUser(ctx));
          return sha
            ? { ok: true, detail: sha.slice(0, 12) }
            : { ok: false, fix: `push branch ${app.branch}, or set [app] branch to one that exists` };
        } catch (e) {
          return {
            ok: false,
            detail: isRfError(e) ? e.details : String(e),
            fix: isRfError(e) ? e.hint : undefined,
          };
        }
      },
    },
    {
      title: `free disk: 1 GiB at ${app.root}, 1 GiB in the pip temp dir`,
      run: async () => {
        const root = await freeBytes(app.root);
        const tmp = await freeBytes(process.env.TMPDIR ?? tmpdir());
        const detail = `${(root / GiB).toFixed(1)} GiB at ${app.root}, ${(tmp / GiB).toFixed(1)} GiB in ${process.env.TMPDIR ?? tmpdir()}`;
        return root >= GiB && tmp >= GiB
          ? { ok: true, detail }
          : {
              ok: false,
              detail,
              fix: "free some space (a venv with streamlit takes about 500 MB per color)",
            };
      },
    },
    {
      title: "service ports are free or held by our own units",
      run: async () => {
        const services = ctx.config.services;
        const holders = (await Promise.all(COLORS.map((c) => foreignHolders(ctx, c))))
          .flat()
          .sort((a, b) => services.indexOf(a.service) - services.indexOf(b.service));
        const busy = holders.map(
          (h) => `${h.port} (${h.service.name} ${h.color}) held by pid ${h.pid}: ${h.command}`,
        );
        return busy.length
          ? { ok: false, detail: busy.join("\n"), fix: "stop those processes or change [service.*] ports" }
          : { ok: true };
      },
    },
    {
      title: "the app's environment (env files, required_env)",
      run: async () => {
        try {
          for (const c of COLORS) await checkRequiredEnv(ctx, c);
          return { ok: true };
        } catch (e) {
          return {
            ok: false,
            detail: isRfError(e) ? e.message : String(e),
            fix: isRfError(e) ? e.hint : undefined,
          };
        }
      },
    },
    ...(ctx.config.tls.mode === "off"
      ? []
      : [
          {
            title: `HTTPS certificate ([tls] mode = ${ctx.config.tls.mode}) and its renewal`,
            run: async () => {
              const report = await tlsReport(ctx);
              return report ? tlsVerdict(report) : { ok: true };
            },
          },
        ]),
    // What each service may reach over IP ([service.NAME] network): said, never a failure.
    ...ctx.config.services.map((s) => ({
      title: `what [service.${s.name}] may reach`,
      run: async () => ({ ok: true, detail: describeNetwork(s.network) }),
    })),
  ];
}

/** Every check's result; one that throws is a failure with its message. */
export async function runHostChecks(ctx: Context): Promise<CheckResult[]> {
  const results: CheckResult[] = [];
  for (const c of hostChecks(ctx)) {
    try {
      results.push({ title: c.title, ...(await c.run()) });
    } catch (e) {
      results.push({ title: c.title, ok: false, detail: e instanceof Error ? e.message : String(e) });
    }
  }
  return results;
}
