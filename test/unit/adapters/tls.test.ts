import { execFileSync } from "node:child_process";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, describe, expect, it } from "vitest";
import { readCertificate, uncovered } from "../../../src/adapters/tls.js";

// A self-signed certificate made with openssl for app.example.com and *.cdn.example.com.
const FIXTURE = fileURLToPath(new URL("../../fixtures/tls/app.example.com.pem", import.meta.url));
const dirs: string[] = [];

afterAll(async () => {
  for (const d of dirs) await rm(d, { recursive: true, force: true });
});

describe("readCertificate", () => {
  it("reads the expiry, names and issuer of the first certificate", async () => {
    const info = await readCertificate(FIXTURE);
    expect(info).toEqual({
      notAfter: new Date("2036-11-29T05:16:23Z"),
      names: ["app.example.com", "*.cdn.example.com"],
      issuer: "CN=app.example.com",
    });
  });

  it("is null for a missing file, one without a certificate, or no regular file", async () => {
    const dir = await mkdtemp(path.join(tmpdir(), "rf-tls-"));
    dirs.push(dir);
    await writeFile(
      path.join(dir, "junk.pem"),
      "-----BEGIN CERTIFICATE-----\nbm90IGEgY2VydA==\n-----END CERTIFICATE-----\n",
    );
    expect(await readCertificate(path.join(dir, "none.pem"))).toBeNull();
    expect(await readCertificate(path.join(dir, "junk.pem"))).toBeNull();
    // neither a directory nor a FIFO (which would block the reader) is read
    expect(await readCertificate(dir)).toBeNull();
    execFileSync("mkfifo", [path.join(dir, "fifo.pem")]);
    expect(await readCertificate(path.join(dir, "fifo.pem"))).toBeNull();
  });
});

describe("uncovered", () => {
  it("names what the certificate lacks, honouring a one-label wildcard", async () => {
    const info = (await readCertificate(FIXTURE))!;
    expect(uncovered(info, ["app.example.com", "img.cdn.example.com"])).toEqual([]);
    expect(uncovered(info, ["APP.example.com", "www.app.example.com", "a.b.cdn.example.com"])).toEqual([
      "www.app.example.com",
      "a.b.cdn.example.com",
    ]);
  });
});
