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
  test("setEnv reaches the child alone, resolved late, and its secret values are redacted", async () => {
    const env = { PATH: process.env.PATH, SIGNING_PW: "pw-only-for-the-child" };
    const cmd = { program: "sh", args: ["-c", 'echo "$COSIGN_PASSWORD/$EMPTY/$SIGNING_PW"'], setEnv: { COSIGN_PASSWORD: { env: "SIGNING_PW" }, EMPTY: "" } };
    expect(showCommand(cmd)).toBe('COSIGN_PASSWORD=$SIGNING_PW EMPTY="" sh -c "echo \\"$COSIGN_PASSWORD/$EMPTY/$SIGNING_PW\\""');
    const r = await runCommand(cmd, { cwd: "/", env });
    expect(r).toMatchObject({ ok: true, stdout: "***//***" });
    expect(process.env.COSIGN_PASSWORD).toBeUndefined();
  });
  test("a short command read at its end (no stream, stdin or cancel) gives what the streaming path gives", async () => {
    const cmd = { program: "sh", args: ["-c", "printf 'a\\nb\\n\\n'; cat; echo err >&2; exit 3"] };
    const lines: string[] = [];
    const captured = await runCommand(cmd, { cwd: "/", env: {} });
    const streamed = await runCommand(cmd, { cwd: "/", env: {}, onLine: (l) => lines.push(l) });
    // stdin is closed (cat ends at once), one final newline is stripped, the exit code says why
    expect(captured).toMatchObject({ ok: false, reason: "exit", exitCode: 3, stdout: "a\nb\n", stderr: "err", message: "exit code 3" });
    expect(streamed).toMatchObject({ ok: false, reason: "exit", exitCode: 3, stdout: "a\nb\n", stderr: "err", message: "exit code 3" });
    expect(lines).toContain("err");
  });
  // found by a review: a timeout ended the direct child alone, and a grandchild holding the pipes (a docker
  // CLI plugin) kept the run waiting: import's bake --print ran 10 minutes past its 60 s
  test("a timeout ends the whole process group, grandchildren that ignore SIGTERM included", async () => {
    const started = performance.now();
    const r = await runCommand(
      { program: "sh", args: ["-c", "sh -c 'trap \"\" TERM; sleep 30' & wait"] },
      { cwd: "/", env: { PATH: process.env.PATH }, timeoutMs: 300 },
    );
    expect(r).toMatchObject({ ok: false, reason: "timeout" });
    expect(performance.now() - started).toBeLessThan(10_000);
  }, 15_000);
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
    // the masking of URL passwords is maskUrlPassword's (url-password.test.ts): an image pinned by digest is none
    const pinned = `docker-image://rust:1.91.0-trixie@sha256:${"a0".repeat(32)}`;
    expect(r(`context ${pinned}`)).toBe(`context ${pinned}`);
  });
});
