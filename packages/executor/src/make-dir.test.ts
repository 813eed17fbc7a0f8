import { existsSync, mkdtempSync, statSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, test } from "vitest";
import { makeDir } from "./make-dir.ts";

describe("makeDir", () => {
  test("makes the missing folders above it; a folder that exists is fine", () => {
    const root = mkdtempSync(join(tmpdir(), "multiarch-make-dir-"));
    makeDir(join(root, "a/b/c"));
    expect(statSync(join(root, "a/b/c")).isDirectory()).toBe(true);
    makeDir(join(root, "a/b/c"));
    makeDir(join(root, "a"));
  });

  test("a file or a dangling link in the way is the file system's error: EEXIST for it, ENOTDIR below a file", () => {
    const root = mkdtempSync(join(tmpdir(), "multiarch-make-dir-"));
    writeFileSync(join(root, "f"), "");
    symlinkSync(join(root, "gone"), join(root, "dangling"));
    expect(() => makeDir(join(root, "dangling/out"))).toThrow(expect.objectContaining({ code: "EEXIST", path: join(root, "dangling") }));
    expect(() => makeDir(join(root, "f"))).toThrow(expect.objectContaining({ code: "EEXIST", syscall: "mkdir" }));
    expect(() => makeDir(join(root, "f/x/y"))).toThrow(expect.objectContaining({ code: "ENOTDIR", syscall: "mkdir" }));
  });

  // node's mkdirSync(recursive) never returns here (Node 20); test/e2e/output.test.ts runs plan -o /proc/x
  // under a time limit, this says what the error reads
  test.skipIf(!existsSync("/proc/self"))("a folder that exists but takes no new folder (/proc) is a prompt ENOENT naming it", () => {
    expect(() => makeDir("/proc/multiarch-x/plans")).toThrow(
      expect.objectContaining({
        code: "ENOENT",
        syscall: "mkdir",
        path: "/proc/multiarch-x",
        message: "ENOENT: /proc exists but takes no new folder, mkdir '/proc/multiarch-x'",
      }),
    );
  });
});
