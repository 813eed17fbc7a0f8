// A release that fails on one architecture moves no tag: after the failed apply, the tags published
// before still resolve to their old digests. Both strategies.
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, test } from "vitest";
import { cli, docker, env, namespace, platformsOf, project, reportOf } from "./helpers.ts";

describe.skipIf(!env)("published tags move only when every platform succeeded", () => {
  test.each(["bake", "manifest"])("strategy %s", async (strategy) => {
    const ns = namespace(`atomic-${strategy}`);
    const dir = project(env!.registry, ns, `FROM ${env!.baseImage}\nRUN echo v1 > /v\n`, `build: { strategy: ${strategy} }\n`);
    const spec = join(dir, "multiarch.yaml");
    expect((await cli(["apply", "-f", spec])).exitCode).toBe(0);
    const before = {
      version: (await platformsOf(`${env!.registry}/${ns}/app:1.0`)).digest,
      latest: (await platformsOf(`${env!.registry}/${ns}/app:latest`)).digest,
    };

    // v2 builds on amd64 but fails on arm64
    writeFileSync(join(dir, "app/Dockerfile"), `FROM ${env!.baseImage}\nRUN test "$(uname -m)" != aarch64\nRUN echo v2 > /v\n`);
    const failed = await cli(["apply", "-f", spec, "--json"]);
    expect(failed.exitCode).toBe(2);
    const report = reportOf(failed.stdout);
    expect(report.steps.filter((s: { kind: string }) => s.kind === "publish").map((s: { status: string }) => s.status)).toEqual(["not-run"]);
    expect(report.images[0].status).toBe("failed");
    expect((await platformsOf(`${env!.registry}/${ns}/app:1.0`)).digest).toBe(before.version);
    expect((await platformsOf(`${env!.registry}/${ns}/app:latest`)).digest).toBe(before.latest);
  });

  test("a smoke test failing on one platform blocks publishing, and the report names what was pushed, by digest", async () => {
    const ns = namespace("smoke");
    const dir = project(env!.registry, ns, `FROM ${env!.baseImage}\n`, '    test: { run: [sh, -c, "test $(uname -m) = x86_64"] }\n');
    const r = await cli(["apply", "-f", join(dir, "multiarch.yaml")]);
    expect(r.exitCode).toBe(2);
    expect(r.stdout).toMatch(/1 step failed \(test:app\/linux\/arm64\)/);
    expect(r.stdout).toMatch(new RegExp(`pushed by this run: ${env!.registry.replace(/\./g, "\\.")}/${ns}/app@sha256:[0-9a-f]{64}`));
    expect((await docker(["buildx", "imagetools", "inspect", `${env!.registry}/${ns}/app:latest`])).exitCode).not.toBe(0);
  });
});
