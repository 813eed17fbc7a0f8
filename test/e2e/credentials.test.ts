// A registry that needs docker login: credentials come from the environment, the password goes through
// stdin, and it is found in no process's argv, no output, and no plan file.
import { existsSync, mkdtempSync, readdirSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { execa } from "execa";
import { describe, expect, test } from "vitest";
import { BIN, env, namespace, repo, reportOf, watchArgv } from "./helpers.ts";

function allFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true, recursive: true })
    .filter((e) => e.isFile())
    .map((e) => join(e.parentPath, e.name));
}

describe.skipIf(!env)("registry credentials", () => {
  test("login through stdin; the password appears in no argv, log line or plan file", async () => {
    const ns = namespace("auth");
    const dir = repo({
      "multiarch.yaml": `version: 1
platforms: [linux/amd64, linux/arm64]
registries:
  private:
    url: ${env!.authRegistry}/${ns}
    insecure: true
    username: { env: MA_E2E_USER }
    password: { env: MA_E2E_PASSWORD }
images:
  app:
    context: app
    tags: ["1.0"]
`,
      "app/Dockerfile": `FROM ${env!.baseImage}\nRUN uname -m > /arch\n`,
    });
    const dockerConfig = mkdtempSync(join(tmpdir(), "multiarch-dockercfg-"));
    const childEnv = { MA_E2E_USER: env!.authUser, MA_E2E_PASSWORD: env!.authPassword, DOCKER_CONFIG: dockerConfig, NO_COLOR: "1" };
    const stop = watchArgv();
    const r = await execa("node", [BIN, "apply", "-f", join(dir, "multiarch.yaml"), "--verbose"], { env: childEnv, reject: false, stdin: "ignore" });
    const argv = stop();
    expect(r.exitCode, String(r.stderr)).toBe(0);
    expect(argv.some((a) => a.includes("--password-stdin"))).toBe(true); // the watcher did see the login
    expect(argv.filter((a) => a.includes(env!.authPassword))).toEqual([]);
    expect(String(r.stdout) + String(r.stderr)).not.toContain(env!.authPassword);
    for (const f of allFiles(join(dir, ".multiarch"))) expect(readFileSync(f, "utf8"), f).not.toContain(env!.authPassword);
    expect(String(r.stderr)).toMatch(/login:private ok/);

    // pushed for real, behind auth
    const inspect = await execa("docker", ["buildx", "imagetools", "inspect", `${env!.authRegistry}/${ns}/app:1.0`, "--format", "{{json .Manifest}}"], {
      env: { DOCKER_CONFIG: dockerConfig },
      reject: false,
    });
    expect(inspect.exitCode, String(inspect.stderr)).toBe(0);

    // already logged in: the login step is skipped
    const again = await execa("node", [BIN, "apply", "-f", join(dir, "multiarch.yaml"), "--rebuild"], { env: childEnv, reject: false, stdin: "ignore" });
    expect(again.exitCode).toBe(0);
    expect(String(again.stderr)).toMatch(/login:private skipped/);
    expect(existsSync(join(dockerConfig, "config.json"))).toBe(true);

    // a fresh CI runner: nothing in docker's config, the credentials only in the spec's variables. The
    // tags are read with them (they were read anonymously: HTTP 401, and "a tag holds another index")
    const fresh = { ...childEnv, DOCKER_CONFIG: mkdtempSync(join(tmpdir(), "multiarch-dockercfg-")) };
    const noop = await execa("node", [BIN, "apply", "-f", join(dir, "multiarch.yaml"), "--json"], { env: fresh, reject: false, stdin: "ignore" });
    expect(noop.exitCode, String(noop.stderr)).toBe(0);
    // a status, not a digest's hex digits (sha256:401271e37dbf made this fail once)
    expect(String(noop.stderr)).not.toMatch(/\b401\b/);
    expect(JSON.parse(String(noop.stdout)).report.images[0]).toMatchObject({ name: "app", status: "up-to-date" });
  });

  test("a wrong password fails at login, before anything is built (exit 2)", async () => {
    const dir = repo({
      "multiarch.yaml": `version: 1\nregistries:\n  private:\n    url: ${env!.authRegistry}/${namespace("bad")}\n    insecure: true\n    username: { env: U }\n    password: { env: P }\nimages:\n  app:\n    context: app\n`,
      "app/Dockerfile": `FROM ${env!.baseImage}\n`,
    });
    const dockerConfig = mkdtempSync(join(tmpdir(), "multiarch-dockercfg-"));
    const r = await execa("node", [BIN, "apply", "-f", join(dir, "multiarch.yaml"), "--json"], {
      env: { U: env!.authUser, P: "wrong-password-123", DOCKER_CONFIG: dockerConfig },
      reject: false,
      stdin: "ignore",
    });
    expect(r.exitCode).toBe(2);
    const report = reportOf(String(r.stdout));
    expect(report.steps.map((s: { kind: string; status: string }) => [s.kind, s.status])[0]).toEqual(["login", "failed"]);
    expect(report.steps.find((s: { kind: string }) => s.kind === "bake").status).toBe("not-run");
    expect(String(r.stdout) + String(r.stderr)).not.toContain("wrong-password-123");
  });
});
