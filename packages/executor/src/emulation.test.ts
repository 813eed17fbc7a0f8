import { mkdirSync, mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Platform } from "@multiarch/plan";
import { describe, expect, test } from "vitest";
import { checkEmulation } from "./emulation.ts";

function binfmt(handlers: Record<string, string>): string {
  const dir = mkdtempSync(join(tmpdir(), "multiarch-binfmt-"));
  mkdirSync(dir, { recursive: true });
  for (const [name, text] of Object.entries(handlers)) writeFileSync(join(dir, name), text);
  return dir;
}

describe("checkEmulation", () => {
  test("native platforms need nothing; foreign ones need an enabled handler with the F flag", () => {
    const dir = binfmt({
      "qemu-aarch64": "enabled\ninterpreter /usr/libexec/qemu-binfmt/aarch64-binfmt-P\nflags: POCF\n",
      "qemu-arm": "enabled\ninterpreter /usr/bin/qemu-arm-static\nflags: OC\n",
      "qemu-s390x": "disabled\nflags: F\n",
    });
    const platforms: Platform[] = ["linux/amd64", "linux/386", "linux/arm64", "linux/arm/v7", "linux/s390x", "linux/riscv64"];
    expect(checkEmulation(platforms, { hostArch: "x64", binfmtDir: dir })).toEqual([
      { platform: "linux/arm/v7", handler: "qemu-arm", problem: "no F flag" },
      { platform: "linux/s390x", handler: "qemu-s390x", problem: "disabled" },
      { platform: "linux/riscv64", handler: "qemu-riscv64", problem: "missing" },
    ]);
    expect(checkEmulation(["linux/arm64", "linux/arm/v7"], { hostArch: "arm64", binfmtDir: dir })).toEqual([]);
  });
});
