import { describe, expect, test } from "vitest";
import { redactor, resolveRef, runCommand, showCommand } from "./runner.ts";

describe("runner", () => {
  test("shows references, never their values", () => {
    expect(showCommand({ program: "docker", args: ["login", "h", "--username", { env: "U" }, "--password-stdin"], stdin: { env: "P" } })).toBe(
      "docker login h --username $U --password-stdin < $P",
    );
  });
  test("redacts secret values from output", () => {
    expect(redactor(["hunter2hunter2"])("token hunter2hunter2 leaked")).toBe("token *** leaked");
  });
  test("an unset reference fails before anything runs", async () => {
    const r = await runCommand({ program: "docker", args: [{ env: "MA_NOT_SET" }] }, { cwd: "/", env: {} });
    expect(r).toMatchObject({ ok: false, reason: "unresolved" });
    expect(() => resolveRef({ env: "X" }, { cwd: "/", env: { X: "" } })).toThrow(/not set/);
  });
  test("a missing program is a spawn failure, not a throw", async () => {
    const r = await runCommand({ program: "docker", args: ["version"] }, { cwd: "/", env: { PATH: "/nonexistent" } });
    expect(r).toMatchObject({ ok: false, reason: "spawn" });
  });
});

describe("redactor", () => {
  test("hides every secret value, line by line for multi-line ones, and URL passwords", () => {
    const r = redactor(["tok-123456", "-----BEGIN KEY-----\nline-two-secret\n-----END KEY-----", "abc"]);
    expect(r("got tok-123456 and line-two-secret")).toBe("got *** and ***");
    expect(r("abc stays: too short to hide safely")).toBe("abc stays: too short to hide safely");
    expect(r("pull https://bob:hunter22@example.com/x")).toBe("pull https://bob:***@example.com/x");
  });
});
