import { describe, expect, it } from "vitest";
import { parseConfig } from "../../../src/config/load.js";
import { SOURCE, problemOf, problemsOf, withLines } from "./helpers.js";

const apiWith = (...lines: string[]): string =>
  withLines("[service.api]", "command = run {port}", "ports = 7000, 7001", ...lines);
const networkOf = (value: string) =>
  parseConfig(apiWith(`network = ${value}`), SOURCE).services.find((s) => s.name === "api")?.network;

describe("[service.NAME] network", () => {
  it("is any by default: the service may reach the network", () => {
    expect(parseConfig(apiWith(), SOURCE).services.map((s) => s.network)).toEqual(["any"]);
  });

  it("reads any and localhost, in any case", () => {
    expect(networkOf("localhost")).toBe("localhost");
    expect(networkOf("LocalHost")).toBe("localhost");
    expect(networkOf("ANY")).toBe("any");
  });

  it("reads a comma-separated list of addresses and CIDR blocks, IPv4 and IPv6", () => {
    expect(networkOf("10.0.0.5, 192.168.10.0/24,fd00::/8 , 2001:db8::1")).toEqual([
      "10.0.0.5",
      "192.168.10.0/24",
      "fd00::/8",
      "2001:db8::1",
    ]);
  });

  it.each([
    ["", "must be any, localhost, or addresses/CIDR blocks"],
    ["everything", '"everything" is not an IP address or CIDR block'],
    ["10.0.0.0/33", '"10.0.0.0/33" is not an IP address or CIDR block'],
    ["fd00::/129", '"fd00::/129" is not an IP address or CIDR block'],
    ["10.0.0.256", '"10.0.0.256" is not an IP address or CIDR block'],
    ["10.0.0.0/8/1", '"10.0.0.0/8/1" is not an IP address or CIDR block'],
    ["10.0.0.1,,10.0.0.2", "must be any, localhost, or addresses/CIDR blocks"],
    ["10.0.0.1 10.0.0.2", '"10.0.0.1 10.0.0.2" is not an IP address or CIDR block'],
    ["localhost, 10.0.0.1", '"localhost" stands alone, not in a list'],
    ["10.0.0.1, any", '"any" stands alone, not in a list'],
  ])("rejects network = %j with a message naming the key", (value, message) => {
    const problem = problemOf(apiWith(`network = ${value}`));
    expect(problem.startsWith(`[service.api] network: `)).toBe(true);
    expect(problem).toContain(message);
  });

  it("reports a bad network with the other problems of the file", () => {
    const text = `${apiWith("network = nowhere")}\n[service.web]\ncommand = run {port}\nports = 7002, 7003\nroute = /web/\nnetwork = 10.1.0.0/99\n`;
    expect(problemsOf(text).filter((p) => p.includes("network"))).toEqual([
      expect.stringMatching(/^\[service\.api\] network: "nowhere" is not an IP address/),
      expect.stringMatching(/^\[service\.web\] network: "10\.1\.0\.0\/99" is not an IP address/),
    ]);
  });
});
