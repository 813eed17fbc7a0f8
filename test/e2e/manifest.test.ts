// The manifest strategy end to end: per-arch docker build (plain manifests), push, docker manifest merge.
import { join } from "node:path";
import { describe, expect, test } from "vitest";
import { cli, docker, env, example, platformsOf } from "./helpers.ts";

describe.skipIf(!env)("apply with the manifest strategy", () => {
  test("fallback example: a manifest list with exactly the requested platforms, each running its arch", async () => {
    const dir = example("fallback");
    const r = await cli(["apply", "-f", join(dir, "multiarch.yaml"), "--json"], { env: { VERSION: "2.0.1" } });
    expect(r.exitCode, r.stderr).toBe(0);
    const report = JSON.parse(r.stdout);
    expect(report.strategy.chosen).toBe("manifest");
    const ref = `${env!.registry}/fallback/tool:2.0.1`;
    const inspect = await docker(["manifest", "inspect", "--insecure", ref]);
    expect(inspect.exitCode, inspect.stderr).toBe(0);
    const list = JSON.parse(inspect.stdout) as { manifests: { platform: { os: string; architecture: string; variant?: string } }[] };
    expect(list.manifests.map((m) => m.platform)).toEqual([
      { os: "linux", architecture: "amd64" },
      { os: "linux", architecture: "arm64" },
      { os: "linux", architecture: "arm", variant: "v7" },
    ]);
    for (const [platform, uname] of [["linux/arm64", "aarch64"], ["linux/arm/v7", "armv7l"], ["linux/amd64", "x86_64"]]) {
      const run = await docker(["run", "--rm", "--pull", "always", "--platform", platform!, ref]);
      expect(run.stdout.trim(), platform).toBe(uname);
    }
    expect((await platformsOf(`${env!.registry}/fallback/tool:2.0.1-armv7`)).digest).toMatch(/^sha256:/);
  });

  test("a re-run with a stale local manifest list still works", async () => {
    const dir = example("fallback");
    expect((await cli(["apply", "-f", join(dir, "multiarch.yaml")], { env: { VERSION: "2.0.2" } })).exitCode).toBe(0);
    const again = await cli(["apply", "-f", join(dir, "multiarch.yaml")], { env: { VERSION: "2.0.2" } });
    expect(again.exitCode, again.stderr).toBe(0);
  });
});
