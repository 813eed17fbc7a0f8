// Past one machine (issue 12): apply --shard per platform, multiarch merge by digest. Each shard runs
// as its own invocation (as on its own machine); faults never move a tag.
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { FaultProxy } from "./fault-proxy.ts";
import { cli, docker, env, namespace, platformsOf, project, reportOf } from "./helpers.ts";

const tagExists = async (ref: string) => (await docker(["buildx", "imagetools", "inspect", ref])).exitCode === 0;

describe.skipIf(!env)("apply --shard --dry-run", () => {
  // The generated CI runs apply --shard; its dry run was an internal error (exit 70) before.
  test("prints the shard's commands and writes no shard file; a platform no image builds is said in --json too", async () => {
    const dir = project(env!.registry, namespace("shard-dry"), `FROM ${env!.baseImage}\n`);
    const spec = join(dir, "multiarch.yaml");
    const dry = await cli(["apply", "-f", spec, "--shard", "linux/amd64", "--dry-run"]);
    expect(dry.exitCode, dry.stderr).toBe(0);
    expect(dry.stderr).not.toContain("internal error");
    const none = await cli(["apply", "-f", spec, "--shard", "linux/s390x", "--dry-run", "--json"]);
    expect(none.exitCode).toBe(1);
    expect(JSON.parse(none.stdout).message).toContain("--shard linux/s390x: no image of this run is built for it");
  });

  // found by a read-through: a shard whose run failed gave --json no message (its summary line was dropped)
  test("a shard whose build fails says why in --json's message, and once on stderr", async () => {
    const dir = project(env!.registry, namespace("shard-fail"), `FROM ${env!.baseImage}\nRUN false\n`);
    const r = await cli(["apply", "-f", join(dir, "multiarch.yaml"), "--shard", "linux/amd64", "--json"]);
    expect(r.exitCode).toBe(2);
    expect(JSON.parse(r.stdout).message).toMatch(/^--shard linux\/amd64: 1 image failed \(app\)/);
    expect(r.stderr.match(/1 image failed \(app\)/g)).toHaveLength(1);
  });
});

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
    expect(r.exitCode).toBe(3);
    expect(r.stderr).toContain("app: no linux/arm64 image");
    const foreign = JSON.parse(arm);
    foreign.identity.commit = "0".repeat(40);
    writeFileSync(join(shardDir, "linux-arm64.json"), JSON.stringify(foreign));
    r = await cli(["merge", "-f", spec]);
    expect(r.exitCode).toBe(3);
    expect(r.stderr).toContain("shard is of another run");
    const gone = JSON.parse(arm);
    gone.images.app.refs[`${via}/${ns}/app`].digest = `sha256:${"0".repeat(64)}`;
    writeFileSync(join(shardDir, "linux-arm64.json"), JSON.stringify(gone));
    r = await cli(["merge", "-f", spec]);
    expect(r.exitCode).toBe(2);
    expect(await tagExists(tag)).toBe(false);

    // found by a review: shards that agree with each other but not with this checkout (a --set they were
    // not given, a change not committed) were merged and published
    writeFileSync(join(shardDir, "linux-arm64.json"), arm);
    for (const [args, change] of [
      [["--set", "app.args.X=1"], undefined],
      [[], join(dir, "app", "uncommitted.txt")],
    ] as const) {
      if (change) writeFileSync(change, "x\n");
      r = await cli(["merge", "-f", spec, ...args]);
      if (change) rmSync(change);
      expect(r.exitCode, r.stderr).toBe(3);
      expect(r.stderr).toContain("app: the shards built it from other inputs than this checkout's");
    }
    expect(await tagExists(tag)).toBe(false);

    // the registry drops every connection while merging (through the fault proxy): no tag moves
    writeFileSync(join(shardDir, "linux-arm64.json"), arm);
    proxy.rule = () => "reset";
    r = await cli(["merge", "-f", spec]);
    proxy.rule = () => "pass";
    expect(r.exitCode).not.toBe(0);
    expect(await tagExists(tag)).toBe(false);

    // and the real merge; its HTML report is titled with merge, the command that ran (issue 24: "multiarch apply" before).
    // It runs in-process: a merge job's machine needs no docker engine (found by a review: it asked for one)
    const html = join(dir, "merge-report.html");
    r = await cli(["merge", "-f", spec, "--json", "--report", html], { env: { DOCKER_HOST: "unix:///nonexistent.sock" } });
    expect(r.exitCode, r.stderr).toBe(0);
    expect(readFileSync(html, "utf8")).toContain("<title>multiarch merge: ");
    const report = reportOf(r.stdout);
    expect(report.images[0]).toMatchObject({ name: "app", status: "published" });
    expect((await platformsOf(tag)).platforms).toEqual(["linux/amd64", "linux/arm64"]);
    const run = await docker(["run", "--rm", "--pull", "always", "--platform", "linux/arm64", tag, "cat", "/arch"]);
    expect(run.stdout.trim()).toBe("aarch64");
  }, 240_000);

  test("two engines as two machines (manifest strategy): amd64 on one, arm64 on the other, merged from a third invocation; CI metadata", async () => {
    const ns = namespace("engines");
    const first = project(
      env!.registry,
      ns,
      `FROM ${env!.baseImage}\nRUN uname -m > /arch\n`,
      "    test: { run: [cat, /arch] }\nbuild: { strategy: manifest }\n",
    );
    // the same checkout on "another machine"
    const second = mkdtempSync(join(tmpdir(), "multiarch-machine2-"));
    cpSync(first, second, { recursive: true });
    const a = await cli(["apply", "-f", join(second, "multiarch.yaml"), "--shard", "linux/amd64"], { env: { DOCKER_HOST: env!.docker2 } });
    expect(a.exitCode, a.stderr).toBe(0);
    const b = await cli(["apply", "-f", join(first, "multiarch.yaml"), "--shard", "linux/arm64"]);
    expect(b.exitCode, b.stderr).toBe(0);
    // the second engine built its image into a layout and pushed it by digest (no tag): the registry has it
    const shardA = JSON.parse(readFileSync(join(second, ".multiarch/shards/linux-amd64.json"), "utf8"));
    const [name, builtOn2] = Object.entries(shardA.images.app.refs as Record<string, { digest: string }>)[0]!;
    expect((await docker(["buildx", "imagetools", "inspect", `${name}@${builtOn2.digest}`])).exitCode).toBe(0);

    const outputs = join(first, "github-output");
    writeFileSync(outputs, "");
    const merged = await cli(
      [
        "merge",
        "-f",
        join(first, "multiarch.yaml"),
        "--from",
        join(first, ".multiarch/shards"),
        "--from",
        join(second, ".multiarch/shards"),
        "--metadata-file",
        join(first, "metadata.json"),
        "--json",
      ],
      { env: { GITHUB_ACTIONS: "true", GITHUB_OUTPUT: outputs } },
    );
    expect(merged.exitCode, merged.stderr).toBe(0);
    const tag = `${env!.registry}/${ns}/app:1.0`;
    const index = await platformsOf(tag);
    expect(index.platforms).toEqual(["linux/amd64", "linux/arm64"]);
    // no tag of one platform: the manifest strategy publishes the spec's tags only
    expect((await docker(["buildx", "imagetools", "inspect", `${env!.registry}/${ns}/app:1.0-arm64`])).exitCode).not.toBe(0);
    // what CI signs: the index digest per repository, each platform's digest, the tags
    const meta = JSON.parse(readFileSync(join(first, "metadata.json"), "utf8"));
    expect(meta.app["containerimage.digest"]).toBe(index.digest);
    expect(meta.app["multiarch.repositories"]).toEqual({ [`${env!.registry}/${ns}/app`]: index.digest });
    expect(Object.keys(meta.app["multiarch.platforms"])).toEqual(["linux/amd64", "linux/arm64"]);
    expect(meta.app["image.name"]).toBe(`${tag},${env!.registry}/${ns}/app:latest`);
    expect(readFileSync(outputs, "utf8")).toContain(`\ndigest=${index.digest}\n`);
    expect(reportOf(merged.stdout).tags.map((t: { ref: string }) => t.ref)).toEqual([tag, `${env!.registry}/${ns}/app:latest`]);
    for (const [p, arch] of [
      ["linux/amd64", "x86_64"],
      ["linux/arm64", "aarch64"],
    ]) {
      expect((await docker(["run", "--rm", "--pull", "always", "--platform", p!, tag, "cat", "/arch"])).stdout.trim()).toBe(arch);
    }
  }, 240_000);

  test("a multi-node builder from the spec: apply names the create commands; real buildx takes them as compiled", async () => {
    // remote and docker-container nodes are created without being started (no buildkitd and no
    // docker-container image here): what is checked is that buildx accepts every command and records the
    // nodes and platforms the spec asks for. Kubernetes needs a cluster: its commands are checked as data.
    const dir = project(
      env!.registry,
      namespace("fleet"),
      `FROM ${env!.baseImage}\n`,
      `build:
  builder:
    name: fleet
    driver: remote
    nodes:
      - { platforms: [linux/amd64], endpoint: "tcp://10.213.78.1:1234" }
      - { name: arm, platforms: [linux/arm64], endpoint: "tcp://10.213.78.2:1234" }
`,
    );
    const buildx = { BUILDX_CONFIG: mkdtempSync(join(tmpdir(), "multiarch-buildx-")) };
    const spec = join(dir, "multiarch.yaml");
    const refused = await cli(["apply", "-f", spec], { env: buildx });
    expect(refused.exitCode).toBe(4);
    expect(refused.stderr).toContain("buildx builder fleet does not exist");
    expect(refused.stderr).toContain("docker buildx create --name fleet --append --node arm --platform linux/arm64 tcp://10.213.78.2:1234");
    const planned = JSON.parse((await cli(["plan", "-f", spec, "--json"], { env: buildx })).stdout);
    expect(planned.plan.strategy.chosen).toBe("bake"); // the spec says which driver the builder will have
    for (const c of planned.plan.builder.create) {
      const r = await docker(c.args, { env: buildx });
      expect(r.exitCode, r.stderr).toBe(0);
    }
    const inspect = await docker(["buildx", "inspect", "fleet"], { env: buildx });
    expect(inspect.stdout).toMatch(/Name:\s+fleet-0\nEndpoint:\s+tcp:\/\/10.213.78.1:1234/);
    expect(inspect.stdout).toMatch(/Name:\s+arm\nEndpoint:\s+tcp:\/\/10.213.78.2:1234/);
    expect(inspect.stdout).toMatch(/Platforms:\s+linux\/arm64/);
    expect((await docker(["buildx", "rm", "fleet"], { env: buildx })).exitCode).toBe(0);
  }, 60_000);
});
