import { describe, expect, it } from "vitest";
import { execStart, serviceArgv } from "../../../src/core/command-line.js";

describe("serviceArgv", () => {
  const venv = "/srv/demo/venvs/blue";

  it("resolves a bare program in the venv's bin and fills in the port", () => {
    expect(serviceArgv("uvicorn backend.main:app --host 127.0.0.1 --port {port}", 8000, venv)).toEqual([
      "/srv/demo/venvs/blue/bin/uvicorn",
      "backend.main:app",
      "--host",
      "127.0.0.1",
      "--port",
      "8000",
    ]);
  });

  it("keeps an absolute program as it is", () => {
    expect(serviceArgv("/usr/bin/env python -m http.server {port}", 8001, venv)).toEqual([
      "/usr/bin/env",
      "python",
      "-m",
      "http.server",
      "8001",
    ]);
  });

  it("fills every {port}, also inside quotes and words", () => {
    expect(serviceArgv("app --bind=127.0.0.1:{port} 'url http://x:{port}/'", 8502, venv)).toEqual([
      "/srv/demo/venvs/blue/bin/app",
      "--bind=127.0.0.1:8502",
      "url http://x:8502/",
    ]);
  });

  it("throws on an empty command", () => {
    expect(() => serviceArgv("   ", 8000, venv)).toThrow("empty command");
  });
});

describe("execStart", () => {
  it("leaves plain words unquoted", () => {
    expect(execStart(["/srv/x/bin/uvicorn", "backend.main:app", "--port", "8000", "a@b+c=d,e"])).toBe(
      "/srv/x/bin/uvicorn backend.main:app --port 8000 a@b+c=d,e",
    );
  });

  it("doubles % so systemd does not expand specifiers", () => {
    expect(execStart(["/bin/date", "+%H:%M", "100%"])).toBe("/bin/date +%%H:%%M 100%%");
  });

  it('quotes words with spaces or quotes, escaping \\ and "', () => {
    expect(execStart(["/bin/echo", "two words", "it's", 'say "hi"', "back\\slash x"])).toBe(
      '/bin/echo "two words" "it\'s" "say \\"hi\\"" "back\\\\slash x"',
    );
  });

  it("quotes an empty word so it stays a word", () => {
    expect(execStart(["/bin/echo", ""])).toBe('/bin/echo ""');
  });

  it.each(["+/bin/sh", "-/bin/sh", "@/bin/sh", ":/bin/sh", "!/bin/sh", "!!/bin/sh", "+", ""])(
    "refuses the program %j, which systemd would read as a prefix",
    (program) => {
      expect(() => execStart([program, "-c", "id"])).toThrow("refusing ExecStart=");
    },
  );

  it("refuses an empty argv", () => {
    expect(() => execStart([])).toThrow("refusing ExecStart=");
  });

  it("still accepts prefix characters in later words", () => {
    expect(execStart(["/bin/x", "+a", "-b", "@c", ":d", "!e"])).toBe('/bin/x +a -b @c :d "!e"');
  });

  it("a bare program that starts with + lands in the venv's bin, so it cannot become a prefix", () => {
    expect(execStart(serviceArgv("+run {port}", 8000, "/srv/x/venvs/blue"))).toBe(
      "/srv/x/venvs/blue/bin/+run 8000",
    );
  });

  it("doubles $ and quotes the word, so systemd does not expand variables", () => {
    expect(execStart(["/bin/echo", "$HOME", "${PATH}", "a$b", "$$"])).toBe(
      '/bin/echo "$$HOME" "$${PATH}" "a$$b" "$$$$"',
    );
  });
});
