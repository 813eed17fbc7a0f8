// examples/monorepo-turbo: turbo runs `image` only in the packages that changed and their dependents.
import { cpSync, mkdirSync, mkdtempSync, readFileSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { execa } from "execa";
import { describe, expect, test } from "vitest";
import { docker, env, ROOT } from "./helpers.ts";

describe.skipIf(!env)("examples/monorepo-turbo", () => {
  test("pnpm images publishes all; after a change to a library, turbo --affected rebuilds only its users", async () => {
    // The example sits two folders below a root whose packages/cli is this workspace's CLI, so its
    // package.json and lockfile are used exactly as checked in.
    const root = mkdtempSync(join(tmpdir(), "multiarch-turbo-"));
    const dir = join(root, "examples/monorepo-turbo");
    cpSync(join(ROOT, "examples/monorepo-turbo"), dir, { recursive: true, filter: (s) => !s.includes("node_modules") && !s.includes(".multiarch") });
    mkdirSync(join(root, "packages"));
    symlinkSync(join(ROOT, "packages/cli"), join(root, "packages/cli"));
    const version = `1.0.${Date.now()}`;
    // An empty metadata cache, as on a machine that never ran a non-frozen install.
    const e = {
      ...process.env,
      VERSION: version,
      TURBO_TELEMETRY_DISABLED: "1",
      NO_COLOR: "1",
      CI: "true",
      XDG_CACHE_HOME: mkdtempSync(join(tmpdir(), "multiarch-turbo-cache-")),
    };
    const sh = (cmd: string, args: string[], extra: Record<string, string> = {}) =>
      execa(cmd, args, { cwd: dir, env: { ...e, ...extra }, reject: false, all: true });
    const git = (...args: string[]) => sh("git", ["-c", "user.name=t", "-c", "user.email=t@t", ...args]);
    // The checked-in lockfile names the workspace's own turbo, which the workspace's install put in its
    // store: no network and no metadata cache needed. That store is read from the install's record, since
    // turbo hands tasks only part of the environment and pnpm's default store may differ from it here
    // (.modules.yaml is JSON from pnpm 10 on, YAML before).
    const storeDir = /"?storeDir"?:\s*"?([^"\n,]+)/.exec(readFileSync(join(ROOT, "node_modules/.modules.yaml"), "utf8"))?.[1];
    expect(storeDir, "the workspace's node_modules/.modules.yaml names its store").toBeTruthy();
    const install = await sh("pnpm", ["install", "--frozen-lockfile", "--offline", "--store-dir", storeDir!]);
    expect(install.exitCode, `${install.all}\n(examples/monorepo-turbo/pnpm-lock.yaml must name the workspace's turbo version)`).toBe(0);
    await git("init", "-q");
    await git("add", ".");
    await git("commit", "-qm", "init");
    const all = await sh("pnpm", ["images"]);
    expect(all.exitCode, all.all).toBe(0);

    writeFileSync(join(dir, "packages/shared/src/greet.sh"), 'greet() { echo "hi from $1 on $(uname -m)"; }\n');
    await git("commit", "-qam", "shared");
    const affected = await sh("pnpm", ["image:affected"], { TURBO_SCM_BASE: "HEAD~1" });
    expect(affected.exitCode, affected.all).toBe(0);
    const ran = [...new Set([...String(affected.all).matchAll(/^@acme\/(\w+):image:/gm)].map((m) => m[1]))].sort();
    // shared's users (api, worker), web through api, base as their dependency; never cli or docs
    expect(ran).toEqual(["api", "base", "web", "worker"]);
    const run = await docker(["run", "--rm", "--pull", "always", "--platform", "linux/arm64", `${env!.registry}/turbo/worker:${version}`]);
    expect(run.stdout.trim()).toBe("hi from worker on aarch64");
  }, 300_000);
});
