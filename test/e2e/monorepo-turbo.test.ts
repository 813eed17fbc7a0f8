// examples/monorepo-turbo: turbo runs `image` only in the packages that changed and their dependents.
import { cpSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { execa } from "execa";
import { describe, expect, test } from "vitest";
import { docker, env, ROOT } from "./helpers.ts";

describe.skipIf(!env)("examples/monorepo-turbo", () => {
  test("pnpm images publishes all; after a change to a library, turbo --affected rebuilds only its users", async () => {
    const dir = mkdtempSync(join(tmpdir(), "multiarch-turbo-"));
    cpSync(join(ROOT, "examples/monorepo-turbo"), dir, { recursive: true, filter: (s) => !s.includes("node_modules") && !s.includes(".multiarch") });
    const pkg = join(dir, "package.json");
    writeFileSync(pkg, readFileSync(pkg, "utf8").replace("link:../../packages/cli", `link:${join(ROOT, "packages/cli")}`));
    const version = `1.0.${Date.now()}`;
    const e = { ...process.env, VERSION: version, TURBO_TELEMETRY_DISABLED: "1", NO_COLOR: "1", CI: "true" };
    const sh = (cmd: string, args: string[], extra: Record<string, string> = {}) =>
      execa(cmd, args, { cwd: dir, env: { ...e, ...extra }, reject: false, all: true });
    const git = (...args: string[]) => sh("git", ["-c", "user.name=t", "-c", "user.email=t@t", ...args]);
    // everything it needs is in the workspace's store already: no network
    expect((await sh("pnpm", ["install", "--offline", "--no-frozen-lockfile"])).exitCode).toBe(0);
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
