import { describe, expect, it } from "vitest";
import { commandOfPid, establishedCount, listeners, unitOfPid } from "../../../src/adapters/ports.js";
import { fakeRunner } from "../helpers/fakes.js";

// Real `ss -Htlnp '( sport = :PORT or ... )'` lines.
const UVICORN = 'LISTEN 0      2048       127.0.0.1:8000      0.0.0.0:*    users:(("uvicorn",pid=1234,fd=6))';
const STREAMLIT_TWO =
  'LISTEN 0      128          0.0.0.0:8501      0.0.0.0:*    users:(("streamlit",pid=2001,fd=7),("python3",pid=2002,fd=7))';
const IPV6 = 'LISTEN 0      4096           [::1]:8502         [::]:*    users:(("python3.11",pid=77,fd=3))';
// Without privileges ss shows sockets of other users without the process.
const NO_PROCESS = "LISTEN 0      511          0.0.0.0:80        0.0.0.0:*";

describe("listeners", () => {
  it("asks one ss run for the listeners of every port", async () => {
    const run = fakeRunner(() => ({ stdout: UVICORN }));
    await listeners(run, [8000, 8501]);
    expect(run.calls).toEqual([
      { file: "ss", args: ["-Htlnp", "( sport = :8000 or sport = :8501 )"], options: { reject: false } },
    ]);
  });

  it("asks nothing when there are no ports", async () => {
    const run = fakeRunner(() => ({ stdout: UVICORN }));
    expect(await listeners(run, [])).toEqual(new Map());
    expect(run.calls).toHaveLength(0);
  });

  it.each([
    ["a uvicorn process", UVICORN, { 8000: [{ pid: 1234, command: "uvicorn" }] }],
    [
      "two processes sharing a socket",
      STREAMLIT_TWO,
      {
        8501: [
          { pid: 2001, command: "streamlit" },
          { pid: 2002, command: "python3" },
        ],
      },
    ],
    ["an IPv6 listener", IPV6, { 8502: [{ pid: 77, command: "python3.11" }] }],
    [
      "sockets on several ports",
      `${UVICORN}\n${IPV6}`,
      { 8000: [{ pid: 1234, command: "uvicorn" }], 8502: [{ pid: 77, command: "python3.11" }] },
    ],
    ["a socket ss shows without its process", NO_PROCESS, { 80: [{ pid: 0, command: "unknown" }] }],
    [
      "the same port on v4 and v6 without its process: one unknown holder",
      `${NO_PROCESS}\n${NO_PROCESS.replace("0.0.0.0:80 ", "[::]:80 ")}`,
      { 80: [{ pid: 0, command: "unknown" }] },
    ],
    ["nothing listening", "", {}],
    ["only whitespace", "\n  \n", {}],
    ["a port not asked about", UVICORN.replace(":8000", ":9000"), {}],
    [
      "a line it cannot place: every port held by someone unknown",
      "LISTEN something unexpected",
      Object.fromEntries([80, 8000, 8501, 8502].map((p) => [p, [{ pid: 0, command: "unknown" }]])),
    ],
  ])("parses %s", async (_, stdout, expected: Record<number, unknown>) => {
    const ports = [80, 8000, 8501, 8502];
    const found = await listeners(
      fakeRunner(() => ({ stdout })),
      ports,
    );
    expect(Object.fromEntries(found)).toEqual(Object.fromEntries(ports.map((p) => [p, expected[p] ?? []])));
  });
});

describe("establishedCount", () => {
  it("counts the established connections on any of the ports", async () => {
    const stdout = [
      "0      0          127.0.0.1:8000     127.0.0.1:51234",
      "0      0          127.0.0.1:8501     127.0.0.1:51240",
      "0      0          127.0.0.1:8501     127.0.0.1:51242",
      "",
    ].join("\n");
    const run = fakeRunner(() => ({ stdout }));
    expect(await establishedCount(run, [8000, 8501])).toBe(3);
    expect(run.calls).toEqual([
      {
        file: "ss",
        args: ["-Htn", "state", "established", "( sport = :8000 or sport = :8501 )"],
        options: { reject: false },
      },
    ]);
  });

  it("is 0 when ss prints nothing", async () => {
    expect(
      await establishedCount(
        fakeRunner(() => ({ stdout: "" })),
        [8001],
      ),
    ).toBe(0);
  });

  it("is 0 without asking ss when there are no ports", async () => {
    const run = fakeRunner(() => ({ stdout: "would be wrong" }));
    expect(await establishedCount(run, [])).toBe(0);
    expect(run.calls).toHaveLength(0);
  });
});

describe("unitOfPid / commandOfPid", () => {
  it("gives null and ? for a process that does not exist", async () => {
    // Above the kernel's pid_max limit (4194304), so never a real process.
    expect(await unitOfPid(99_999_999)).toBeNull();
    expect(await commandOfPid(99_999_999)).toBe("?");
  });

  it("reads the command line of a live process", async () => {
    const cmd = await commandOfPid(process.pid);
    expect(cmd).toContain(process.argv0.split("/").at(-1) ?? "node");
  });
});
