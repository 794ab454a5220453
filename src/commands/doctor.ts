// rf-agent doctor: is this host ready for a first deploy? Each failed check says what to run.
import { statfs } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { lsRemote } from "../adapters/git.js";
import { testConfig } from "../adapters/nginx.js";
import { commandOfPid, listeners, unitOfPid } from "../adapters/ports.js";
import { isActive, systemdRunning } from "../adapters/systemd.js";
import { lookupUser } from "../adapters/users.js";
import { COLORS } from "../config/types.js";
import type { Context } from "../context.js";
import { printableLine } from "../core/printable.js";
import { describeNetwork } from "../core/render.js";
import { isRfError } from "../errors.js";
import { tlsReport, tlsVerdict } from "../ops/certificate.js";
import { checkRequiredEnv } from "../ops/env.js";
import { gitUser } from "../ops/host.js";

export interface CheckResult {
  title: string;
  ok: boolean;
  detail?: string;
  fix?: string;
}

interface Check {
  title: string;
  run: () => Promise<Omit<CheckResult, "title">>;
}

const GiB = 1024 ** 3;

// Run as root: -I (isolated) keeps the directory doctor was started from (a venv.py there) off
// sys.path and ignores PYTHON* variables and the user site; cwd / besides.
export const PYTHON_CHECK = ["-I", "-c", "import venv, ensurepip"];

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

function checks(ctx: Context): Check[] {
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
        const v = await ctx
          .run("nginx", ["-v"], { reject: false })
          .catch(() => ({ exitCode: 127, stderr: "" }));
        if (v.exitCode !== 0) return { ok: false, fix: "apt-get install nginx" };
        const t = await testConfig(ctx.run);
        if (!t.ok) return { ok: false, detail: t.output, fix: "fix the file `nginx -t` names" };
        if (!(await isActive(ctx.run, "nginx.service")))
          return { ok: false, fix: "systemctl enable --now nginx" };
        return { ok: true };
      },
    },
    {
      title: `${app.python} with the venv module`,
      run: async () => {
        const r = await ctx
          .run(app.python, PYTHON_CHECK, { cwd: "/", reject: false })
          .catch(() => ({ exitCode: 127 }));
        return r.exitCode === 0
          ? { ok: true }
          : {
              ok: false,
              fix: `apt-get install python3 python3-venv (or set [app] python to an interpreter with venv)`,
            };
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
        const busy: string[] = [];
        for (const s of ctx.config.services) {
          for (const c of COLORS) {
            for (const l of await listeners(ctx.run, s.ports[c])) {
              if (l.pid && (await unitOfPid(l.pid)) === ctx.layout.unit(s, c)) continue;
              busy.push(`${s.ports[c]} (${s.name} ${c}) held by pid ${l.pid}: ${await commandOfPid(l.pid)}`);
            }
          }
        }
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

export async function doctor(ctx: Context): Promise<CheckResult[]> {
  const results: CheckResult[] = [{ title: `config ${ctx.config.source} is valid`, ok: true }];
  for (const c of checks(ctx)) {
    try {
      results.push({ title: c.title, ...(await c.run()) });
    } catch (e) {
      results.push({ title: c.title, ok: false, detail: e instanceof Error ? e.message : String(e) });
    }
  }
  return results;
}

export function formatChecks(results: CheckResult[]): string {
  const lines: string[] = [];
  for (const r of results) {
    lines.push(`${r.ok ? "✓" : "✗"} ${r.title}${r.ok && r.detail ? ` (${r.detail})` : ""}`);
    if (!r.ok && r.detail) lines.push(...r.detail.split("\n").map((l) => `    ${l}`));
    if (!r.ok && r.fix) lines.push(`    fix: ${r.fix}`);
  }
  const failed = results.filter((r) => !r.ok).length;
  lines.push(failed ? `${failed} of ${results.length} checks failed` : `all ${results.length} checks passed`);
  // Details quote others: a git server's error, a port holder's command line.
  return lines.map(printableLine).join("\n");
}
