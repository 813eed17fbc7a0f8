import { describe, expect, test } from "vitest";
import { archSuffix, descriptorPlatform, parsePlatform, platformParts, platformSlug } from "./platform.ts";

describe("parsePlatform", () => {
  test.each([
    ["linux/amd64", "linux/amd64"],
    ["linux/arm64", "linux/arm64"],
    ["linux/arm/v7", "linux/arm/v7"],
    ["linux/aarch64", "linux/arm64"],
    ["linux/x86_64", "linux/amd64"],
    ["linux/x86-64", "linux/amd64"],
    ["linux/armhf", "linux/arm/v7"],
    ["linux/armel", "linux/arm/v6"],
    ["linux/arm64/v8", "linux/arm64"],
    ["linux/arm", "linux/arm/v7"],
    ["linux/arm/6", "linux/arm/v6"],
    ["linux/i386", "linux/386"],
    ["Linux/AMD64", "linux/amd64"],
    ["linux/riscv64", "linux/riscv64"],
    ["linux/loong64", "linux/loong64"],
  ])("%s -> %s", (input, canonical) => {
    const r = parsePlatform(input);
    expect(r.ok && r.platform).toBe(canonical);
    expect(r.ok && r.normalisedFrom).toBe(input === canonical ? undefined : input);
  });

  test.each([
    ["arm64", "platform-invalid", "write linux/arm64"],
    ["aarch64", "platform-invalid", "write linux/arm64"],
    ["linux", "platform-invalid", "linux/amd64"],
    ["linux/*", "platform-invalid", "list each platform"],
    ["*", "platform-invalid", undefined],
    ["linux/arm/v7/x", "platform-invalid", undefined],
    ["/linux/arm", "platform-invalid", undefined],
    ["linux /arm", "platform-invalid", undefined],
    ["", "platform-invalid", undefined],
    ["linux/foo", "platform-unknown", undefined],
    ["linux/arm64e", "platform-unknown", "did you mean linux/arm64?"],
    ["linux/arm/v9", "platform-unknown", undefined],
    ["plan9/amd64", "platform-unknown", undefined],
    ["windows/amd64", "platform-unknown", "linux/<arch>"],
    ["linuxx/amd64", "platform-unknown", "did you mean linux/amd64?"],
  ])("%s is refused (%s)", (input, code, hint) => {
    const r = parsePlatform(input);
    expect(r.ok).toBe(false);
    if (!r.ok) {
      expect(r.code).toBe(code);
      if (hint) expect(r.hint).toContain(hint);
    }
  });

  test("slugs, per-arch suffixes and parts", () => {
    expect(platformSlug("linux/arm/v7")).toBe("linux-arm-v7");
    expect(archSuffix("linux/arm/v7")).toBe("armv7");
    expect(archSuffix("linux/arm64")).toBe("arm64");
    expect(platformParts("linux/arm/v7")).toEqual({ os: "linux", arch: "arm", variant: "v7" });
    expect(platformParts("linux/amd64")).toEqual({ os: "linux", arch: "amd64" });
    expect(descriptorPlatform({ os: "windows", architecture: "amd64" })).toBe("windows/amd64");
    expect(descriptorPlatform({ os: "linux", architecture: "arm", variant: "v6" })).toBe("linux/arm/v6");
  });
});
