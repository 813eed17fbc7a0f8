import { existsSync, mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, test } from "vitest";
import { cli, docker, env, example, namespace, platformsOf, reportOf } from "./helpers.ts";

describe.skipIf(!env)("apply with the bake strategy", () => {
  test("quick start: three architectures built (RUN under QEMU), pushed, verified, tested, published", async () => {
    const ns = namespace("quickstart");
    const dir = example("quickstart", ns);
    const version = `0.1.${Date.now()}`;
    const r = await cli(["apply", "-f", join(dir, "multiarch.yaml"), "--json"], { env: { VERSION: version } });
    expect(r.exitCode, r.stderr).toBe(0);
    const report = reportOf(r.stdout);
    expect(report.strategy.chosen).toBe("bake");
    expect(report.images[0]).toMatchObject({ name: "hello", status: "published" });
    const tests = report.steps.filter((s: { kind: string }) => s.kind === "test").map((s: { platform: string; output: string }) => [s.platform, s.output]);
    expect(tests).toEqual([
      ["linux/amd64", "x86_64"],
      ["linux/arm64", "aarch64"],
      ["linux/arm/v7", "armv7l"],
    ]);
    const ref = `${env!.registry}/${ns}/hello:${version}`;
    const pushed = await platformsOf(ref);
    expect(pushed.platforms).toEqual(["linux/amd64", "linux/arm/v7", "linux/arm64"]);
    expect(pushed.digest).toBe(report.images[0].digest);
    expect((await platformsOf(`${env!.registry}/${ns}/hello:latest`)).digest).toBe(pushed.digest);
    const run = await docker(["run", "--rm", "--pull", "always", "--platform", "linux/arm64", ref]);
    expect(run.stdout.trim()).toBe("hello from aarch64");
  });

  test("monorepo: apps build FROM the base image of the same run, per platform", async () => {
    const ns = namespace("monorepo");
    const dir = example("monorepo", ns);
    const version = `1.0.${Date.now()}`;
    const r = await cli(["apply", "-f", join(dir, "multiarch.yaml"), "--json"], { env: { VERSION: version } });
    expect(r.exitCode, r.stderr).toBe(0);
    const report = reportOf(r.stdout);
    expect(report.steps.filter((s: { kind: string }) => s.kind === "bake")).toHaveLength(1);
    expect(report.images.map((i: { name: string; status: string }) => [i.name, i.status])).toEqual([
      ["base", "published"],
      ["api", "published"],
      ["web", "published"],
    ]);
    const apiArm = report.steps.find((s: { id: string }) => s.id === "test:api/linux/arm64");
    expect(apiArm.output).toBe(`api ${version} (STABLE) built on aarch64\naarch64`);
    expect((await platformsOf(`${env!.registry}/${ns}/acme-api:${version}`)).platforms).toEqual(["linux/amd64", "linux/arm64"]);
    expect((await platformsOf(`${env!.registry}/${ns}/base:stable`)).platforms).toEqual(["linux/amd64", "linux/arm/v7", "linux/arm64"]);
  });

  test("no registries: an OCI archive with every platform, loadable with --load", async () => {
    const dir = example("oci");
    const r = await cli(["apply", "-f", join(dir, "multiarch.yaml"), "--load"]);
    expect(r.exitCode, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/hello\s+loaded\s+linux\/amd64,linux\/arm64,linux\/arm\/v7/);
    expect(existsSync(join(dir, ".multiarch/oci/hello.tar"))).toBe(true);
    const run = await docker(["run", "--rm", "--platform", "linux/arm/v7", "hello:0.1.0"]);
    expect(run.stdout.trim()).toBe("armv7l");
  });

  test("--dry-run prints the exact commands and runs nothing", async () => {
    const dir = example("quickstart");
    const r = await cli(["apply", "-f", join(dir, "multiarch.yaml"), "--dry-run", "--rebuild"]);
    expect(r.exitCode, r.stderr).toBe(0);
    expect(r.stdout).toContain(
      `BUILDX_NO_DEFAULT_LOAD="1" docker buildx bake -f .multiarch/docker-bake.json --metadata-file <run>/bake-metadata.json --set hello.output=type=oci,tar=false,dest=<run>/oci hello`,
    );
    // the user tags, one at a time (latest last), by the registry client
    expect(r.stdout).toMatch(
      /\(in-process\) point 127\.0\.0\.1:5000\/quickstart\/hello:0\.1\.0, then 127\.0\.0\.1:5000\/quickstart\/hello:latest at <127\.0\.0\.1:5000\/quickstart\/hello:multiarch-staging-[0-9a-f]{12} as verified>/,
    );
  });

  test("a saved plan runs as written (apply --plan)", async () => {
    const dir = example("oci");
    expect((await cli(["plan", "-f", join(dir, "multiarch.yaml"), "--strategy", "bake"])).exitCode).toBe(0);
    const plan = readFileSync(join(dir, ".multiarch/plan.json"), "utf8");
    const r = await cli(["apply", "--plan", join(dir, ".multiarch/plan.json")], { cwd: "/" });
    expect(r.exitCode, r.stderr).toBe(0);
    expect(readFileSync(join(dir, ".multiarch/plan.json"), "utf8")).toBe(plan);
  });

  test("a per-arch plan (a shard) builds and pushes only its platform, by digest", async () => {
    const dir = example("monorepo", namespace("monorepo-shard"));
    expect((await cli(["plan", "-f", join(dir, "multiarch.yaml"), "--strategy", "bake"])).exitCode).toBe(0);
    const r = await cli(["apply", "--plan", join(dir, ".multiarch/plans/linux-arm64.json"), "--json"]);
    expect(r.exitCode, r.stderr).toBe(0);
    const report = reportOf(r.stdout);
    expect(report.images.map((i: { status: string }) => i.status)).toEqual(["verified", "verified", "verified"]);
    const apiRef = report.images[1].tags[0] as string;
    expect(apiRef).toMatch(/acme-api@sha256:[0-9a-f]{64}$/);
    expect((await platformsOf(apiRef)).platforms).toEqual(["linux/arm64"]);
  });

  test("sharded: each platform's plan builds with its own registry cache, which a cold rebuild imports", async () => {
    const ns = namespace("sharded");
    const dir = example("sharded", ns);
    const version = `1.0.${Date.now()}`;
    const spec = join(dir, "multiarch.yaml");
    expect((await cli(["plan", "-f", spec, "--strategy", "bake"], { env: { VERSION: version } })).exitCode).toBe(0);
    for (const p of ["linux-amd64", "linux-arm64"]) {
      const r = await cli(["apply", "--plan", join(dir, `.multiarch/plans/${p}.json`)]);
      expect(r.exitCode, r.stderr).toBe(0);
      expect((await platformsOf(`${env!.registry}/${ns}/worker:buildcache-${p}`)).digest).toMatch(/^sha256:/);
    }
    await docker(["buildx", "prune", "--all", "--force"]);
    const again = await cli(["apply", "--plan", join(dir, ".multiarch/plans/linux-arm64.json"), "--verbose"]);
    expect(again.exitCode, again.stderr).toBe(0);
    expect(again.stderr).toContain(`importing cache manifest from ${env!.registry}/${ns}/worker:buildcache-linux-arm64`);
    // the RUN step did not run again: BuildKit prints it CACHED, or (seen on a fresh machine) as the
    // download of its layer from the imported cache ("#8 sha256:… 164B / 164B done"), or not at all
    const run = /#(\d+) \[[^\]]*\] RUN /.exec(again.stderr);
    if (run) expect(again.stderr).toMatch(new RegExp(`#${run[1]} (CACHED|sha256:[0-9a-f]{64} .* done)`));
  });

  test("no QEMU handler for a planned platform stops apply before anything runs (exit 4)", async () => {
    // a repository of its own, never published: an up-to-date image builds nothing and needs no handler
    const dir = example("quickstart", namespace("no-binfmt"));
    const empty = mkdtempSync(join(tmpdir(), "multiarch-nobinfmt-"));
    const r = await cli(["apply", "-f", join(dir, "multiarch.yaml")], { env: { MULTIARCH_BINFMT_DIR: empty } });
    expect(r.exitCode).toBe(4);
    expect(r.stderr).toContain("linux/arm64: binfmt_misc handler qemu-aarch64 is not registered");
    expect(r.stderr).not.toContain("linux/amd64");
    expect(r.stdout).toBe("");
  });

  test("an unreachable engine stops apply before anything runs (exit 4)", async () => {
    const dir = example("quickstart");
    const r = await cli(["apply", "-f", join(dir, "multiarch.yaml")], { env: { DOCKER_HOST: "unix:///nonexistent.sock" } });
    expect(r.exitCode).toBe(4);
    expect(r.stderr).toContain("the docker engine at");
  });
});
