// Bad config through the real CLI: random and mutated agent.ini files, each classified in-process with
// parseConfig, and every invalid one handed to `rf-agent deploy --config FILE` on a fresh server. Each
// must exit 2 with a message that points into the file (a [section] or a line), no stack trace, no
// "internal error", and the host must be exactly as before.
import fc from "fast-check";
import { lineMutations, ODD_PIECES, type Mutation } from "../support/ini-mutations.js";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parseConfig } from "../../src/config/load.js";
import { isRfError } from "../../src/errors.js";
import { baseConfig, renderConfig, type ConfigOverrides } from "../../scripts/lab/config.js";
import { REPO_ROOT, TestServer } from "../../scripts/lab/server.js";

const RUNS = Number(process.env.RF_CONFIG_FUZZ_RUNS ?? 100);
const SEED = Number(process.env.RF_CONFIG_FUZZ_SEED ?? Date.now() % 2 ** 31);
const CLI = path.join(REPO_ROOT, "dist", "cli.js");
const DIR = "/tmp/config-fuzz";

let server: TestServer;

// Everything a deploy could touch, as one digest: files and links under /etc/nginx and
// /etc/systemd/system with their modes and contents, the users, and rf-agent's own directories.
const HOST_DIGEST = `set -e
{
  find /etc/nginx /etc/systemd/system -printf '%p|%y|%l|%m|%U|%s\\n' | LC_ALL=C sort
  find /etc/nginx /etc/systemd/system -type f -exec sha256sum {} + | LC_ALL=C sort
  getent passwd; getent group
  ls -a /srv /var/lib/rf-agent /run/rf-agent /etc/rf-agent 2>&1 || true
} | sha256sum`;

// --- generators -----------------------------------------------------------------------------------

const KEYS = Object.entries(baseConfig()).flatMap(([section, keys]) =>
  Object.keys(keys).map((key) => [section, key] as const),
);

const ODD = fc.oneof(
  fc.string({ maxLength: 12 }),
  fc.string({ unit: "grapheme", maxLength: 6 }),
  fc.constantFrom(...ODD_PIECES),
);

const ODD_VALUE = fc.oneof(
  ODD,
  fc.integer().map(String),
  fc.double({ noNaN: false }).map(String),
  fc.constantFrom(
    "",
    " ",
    "-1",
    "0",
    "1e9",
    "99999999",
    "0x50",
    "/",
    "relative/path",
    "/srv/../etc",
    "/srv//x",
    "8000, 8000",
    "8000",
    "8000, 8001, 8002",
    "80, 8001",
    "true",
    "yes",
    "maybe",
    "null",
    "root",
    "UPPER",
    "a b",
    "'unterminated",
    '"unterminated',
    "uvicorn app",
    "/api",
    "api/",
    "--index-url",
    "https://",
    "-oProxyCommand=x",
    "main..x",
    "feature/",
    "x.lock",
  ),
);

const MUTATION: fc.Arbitrary<Mutation> = fc.oneof(
  ...lineMutations(ODD, ODD_VALUE),
  // a broken or renamed section header
  fc
    .tuple(fc.nat(), fc.constantFrom("drop-close", "drop-open", "garbage", "rename", "empty", "nested"))
    .map(([i, how]): Mutation => (ls) => {
      const headers = ls.map((l, j) => (l.startsWith("[") ? j : -1)).filter((j) => j >= 0);
      const h = headers[i % Math.max(headers.length, 1)];
      if (h === undefined) return ls;
      const name = ls[h]!.slice(1, -1);
      const header = {
        "drop-close": `[${name}`,
        "drop-open": `${name}]`,
        garbage: `[${name}] trailing`,
        rename: `[${name}x]`,
        empty: "[]",
        nested: `[[${name}]]`,
      }[how];
      return ls.map((l, j) => (j === h ? header : l));
    }),
  // a key renamed or moved to another section
  fc.tuple(fc.nat(), fc.constantFrom(...KEYS)).map(([i, [, key]]): Mutation => (ls) => {
    const keyed = ls.map((l, j) => (l.includes("=") ? j : -1)).filter((j) => j >= 0);
    const k = keyed[i % Math.max(keyed.length, 1)];
    return k === undefined ? ls : [...ls.slice(0, k), `${key}s = 1`, ...ls.slice(k + 1)];
  }),
);

/** renderConfig() with a random value for random keys, then random line mutations. */
const MUTATED = fc
  .tuple(
    fc.array(fc.tuple(fc.constantFrom(...KEYS), ODD_VALUE), { maxLength: 2 }),
    fc.array(MUTATION, { minLength: 1, maxLength: 5 }),
    fc.constantFrom("\n", "\r\n"),
  )
  .map(([values, mutations, eol]) => {
    const overrides: ConfigOverrides = {};
    for (const [[section, key], value] of values)
      overrides[section] = { ...overrides[section], [key]: value };
    const lines = renderConfig(overrides).split("\n");
    return mutations.reduce((ls, m) => m(ls), lines).join(eol);
  });

const RANDOM = fc.oneof(
  fc.string({ maxLength: 200 }),
  fc.string({ unit: "binary", maxLength: 200 }),
  fc.lorem({ maxCount: 20, mode: "sentences" }),
  // ini-shaped noise: headers and key = value lines made of random parts
  fc
    .array(
      fc.oneof(
        fc.string({ maxLength: 10 }).map((s) => `[${s}]`),
        fc.constantFrom(
          "[app]",
          "[health]",
          "[switch]",
          "[nginx]",
          "[service.api]",
          "[service]",
          "[service.API]",
        ),
        fc
          .tuple(fc.constantFrom(...KEYS.map(([, k]) => k), "repo", "x"), ODD_VALUE)
          .map(([k, v]) => `${k} = ${v}`),
        fc.string({ maxLength: 20 }),
      ),
      { maxLength: 12 },
    )
    .map((ls) => ls.join("\n")),
);

const CONFIG_TEXT = fc.oneof({ arbitrary: MUTATED, weight: 3 }, { arbitrary: RANDOM, weight: 1 });

// --- the test -------------------------------------------------------------------------------------

interface CliResult {
  i: number;
  code: number | null;
  signal: string | null;
  stdout: string;
  stderr: string;
}

// Runs inside the server: writes each case to DIR/N.ini and runs the CLI on it, two at a time.
const RUNNER = `
import { execFile } from "node:child_process";
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
const [cli, dir] = process.argv.slice(1);
const cases = JSON.parse(readFileSync(dir + "/cases.json", "utf8"));
const results = [];
let next = 0;
async function worker() {
  while (next < cases.length) {
    const i = next++;
    const file = dir + "/" + i + ".ini";
    writeFileSync(file, cases[i], { mode: 0o600 });
    results.push(await new Promise((resolve) =>
      execFile(process.execPath, [cli, "deploy", "--config", file], { encoding: "utf8", timeout: 60000 },
        (err, stdout, stderr) => resolve({ i, code: err ? (typeof err.code === "number" ? err.code : null) : 0,
          signal: err?.signal ?? null, stdout, stderr }))));
  }
}
await Promise.all([worker(), worker()]);
process.stdout.write(JSON.stringify(results));
`;

beforeAll(async () => {
  server = await TestServer.up();
});

afterAll(async () => {
  await server?.down();
});

describe("config fuzz through the CLI", () => {
  it(`every invalid agent.ini exits 2 naming where, with no stack trace and no change on the host (seed ${SEED})`, async () => {
    const texts = fc.sample(CONFIG_TEXT, { numRuns: RUNS, seed: SEED });
    const invalid: string[] = [];
    for (const text of texts) {
      try {
        parseConfig(text, `${DIR}/x.ini`);
      } catch (e) {
        // A non-RfError is a crash the CLI must still report properly: run it too.
        if (!isRfError(e) || e.code === "CONFIG") invalid.push(text);
      }
    }
    expect(invalid.length, "most generated files are invalid").toBeGreaterThanOrEqual(RUNS / 2);

    const before = await server.sh(HOST_DIGEST);
    expect(before.exitCode, before.stderr).toBe(0);
    await server.writeFile(`${DIR}/cases.json`, JSON.stringify(invalid), 0o600);
    const r = await server.exec("node", ["--input-type=module", "-e", RUNNER, CLI, DIR], {
      timeoutMs: 600_000,
    });
    expect(r.exitCode, r.stderr).toBe(0);
    const results = (JSON.parse(r.stdout) as CliResult[]).sort((a, b) => a.i - b.i);
    expect(results).toHaveLength(invalid.length);

    const bad: string[] = [];
    for (const res of results) {
      const problems: string[] = [];
      if (res.code !== 2) problems.push(`exit ${res.code ?? res.signal}`);
      if (!/^rf-agent: config /.test(res.stderr)) problems.push("does not start with `rf-agent: config`");
      if (!/\[|line \d+/.test(res.stderr)) problems.push("names no [section] and no line");
      if (/^\s{4}at /m.test(res.stderr)) problems.push("stack trace");
      if (/internal error/i.test(res.stderr)) problems.push("internal error");
      if (res.stdout !== "") problems.push("printed on stdout");
      if (problems.length)
        bad.push(
          `${problems.join(", ")}\n  file: ${JSON.stringify(invalid[res.i])}\n  stderr: ${res.stderr.slice(0, 600)}`,
        );
    }
    expect(bad, `seed ${SEED}; replay with RF_CONFIG_FUZZ_SEED=${SEED}`).toEqual([]);

    const after = await server.sh(HOST_DIGEST);
    expect(after.stdout, "host unchanged").toBe(before.stdout);
  });
});
