// Past one machine (issue 12): apply --shard per platform, multiarch merge by digest. Each shard runs
// as its own invocation (as on its own machine); faults never move a tag.
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { FaultProxy } from "./fault-proxy.ts";
import { cli, docker, env, namespace, platformsOf, project, reportOf } from "./helpers.ts";

const tagExists = async (ref: string) => (await docker(["buildx", "imagetools", "inspect", ref])).exitCode === 0;

describe.skipIf(!env)("shards and merge", () => {
  const proxy = new FaultProxy({ host: "127.0.0.1", port: Number(env?.registry.split(":")[1] ?? 5000) });
  let via = "";
  beforeAll(async () => {
    via = await proxy.start();
  });
  afterAll(() => proxy.stop());

  test("two shards, then merge: one index of both, each platform the image its shard pushed; faults move no tag", async () => {
    const ns = namespace("shard");
    // everything goes through the fault proxy (passing by default): the same registry behind it
    const dir = project(via, ns, `FROM ${env!.baseImage}\nRUN uname -m > /arch\n`, "    test: { run: [cat, /arch] }\n");
    const spec = join(dir, "multiarch.yaml");
    const tag = `${env!.registry}/${ns}/app:1.0`;
    for (const p of ["linux/amd64", "linux/arm64"]) {
      const r = await cli(["apply", "-f", spec, "--shard", p, "--json"]);
      expect(r.exitCode, r.stderr).toBe(0);
      expect(JSON.parse(r.stdout).shards).toHaveLength(1);
    }
    expect(await tagExists(tag)).toBe(false); // shards move no user tag
    const shardDir = join(dir, ".multiarch/shards");
    const amd = JSON.parse(readFileSync(join(shardDir, "linux-amd64.json"), "utf8"));
    expect(amd.images.app.tests).toBe("passed");

    // faults first: a missing shard, a shard of another commit, a digest the registry does not have
    const arm = readFileSync(join(shardDir, "linux-arm64.json"), "utf8");
    rmSync(join(shardDir, "linux-arm64.json"));
    let r = await cli(["merge", "-f", spec]);
    expect(r.exitCode).toBe(2);
    expect(r.stderr).toContain("app: no linux/arm64 image");
    const foreign = JSON.parse(arm);
    foreign.identity.commit = "0".repeat(40);
    writeFileSync(join(shardDir, "linux-arm64.json"), JSON.stringify(foreign));
    r = await cli(["merge", "-f", spec]);
    expect(r.exitCode).toBe(2);
    expect(r.stderr).toContain("shard is of another run");
    const gone = JSON.parse(arm);
    gone.images.app.refs[`${via}/${ns}/app`].digest = `sha256:${"0".repeat(64)}`;
    writeFileSync(join(shardDir, "linux-arm64.json"), JSON.stringify(gone));
    r = await cli(["merge", "-f", spec]);
    expect(r.exitCode).toBe(2);
    expect(await tagExists(tag)).toBe(false);

    // the registry drops every connection while merging (through the fault proxy): no tag moves
    writeFileSync(join(shardDir, "linux-arm64.json"), arm);
    proxy.rule = () => "reset";
    r = await cli(["merge", "-f", spec]);
    proxy.rule = () => "pass";
    expect(r.exitCode).not.toBe(0);
    expect(await tagExists(tag)).toBe(false);

    // and the real merge
    r = await cli(["merge", "-f", spec, "--json"]);
    expect(r.exitCode, r.stderr).toBe(0);
    const report = reportOf(r.stdout);
    expect(report.images[0]).toMatchObject({ name: "app", status: "published" });
    expect((await platformsOf(tag)).platforms).toEqual(["linux/amd64", "linux/arm64"]);
    const run = await docker(["run", "--rm", "--pull", "always", "--platform", "linux/arm64", tag, "cat", "/arch"]);
    expect(run.stdout.trim()).toBe("aarch64");
  }, 240_000);

  test("two engines as two machines: amd64 on one, arm64 on the other, merged from a third invocation", async () => {
    const ns = namespace("engines");
    const first = project(env!.registry, ns, `FROM ${env!.baseImage}\nRUN uname -m > /arch\n`, "    test: { run: [cat, /arch] }\n");
    // the same checkout on "another machine"
    const second = mkdtempSync(join(tmpdir(), "multiarch-machine2-"));
    cpSync(first, second, { recursive: true });
    const a = await cli(["apply", "-f", join(second, "multiarch.yaml"), "--shard", "linux/amd64"], { env: { DOCKER_HOST: env!.docker2 } });
    expect(a.exitCode, a.stderr).toBe(0);
    const b = await cli(["apply", "-f", join(first, "multiarch.yaml"), "--shard", "linux/arm64"]);
    expect(b.exitCode, b.stderr).toBe(0);
    // the second engine built its image itself: the first engine has never seen it
    const shardA = JSON.parse(readFileSync(join(second, ".multiarch/shards/linux-amd64.json"), "utf8"));
    const builtOn2 = Object.values(shardA.images.app.refs as Record<string, { staging: string }>)[0]!.staging;
    expect((await docker(["image", "inspect", builtOn2])).exitCode).not.toBe(0);
    expect((await docker(["image", "inspect", builtOn2], { env: { DOCKER_HOST: env!.docker2 } })).exitCode).toBe(0);

    const merged = await cli([
      "merge",
      "-f",
      join(first, "multiarch.yaml"),
      "--from",
      join(first, ".multiarch/shards"),
      "--from",
      join(second, ".multiarch/shards"),
    ]);
    expect(merged.exitCode, merged.stderr).toBe(0);
    const tag = `${env!.registry}/${ns}/app:1.0`;
    expect((await platformsOf(tag)).platforms).toEqual(["linux/amd64", "linux/arm64"]);
    for (const [p, arch] of [
      ["linux/amd64", "x86_64"],
      ["linux/arm64", "aarch64"],
    ]) {
      expect((await docker(["run", "--rm", "--pull", "always", "--platform", p!, tag, "cat", "/arch"])).stdout.trim()).toBe(arch);
    }
  }, 240_000);
});
