// The generated GitLab pipeline, run by gitlab-ci-local (GitLab's schema, rules, matrix, needs and
// artifacts as GitLab applies them) on the shell executor: a merge-request pipeline pushes nothing; the
// default branch's pipeline builds each platform's shard on its own engine (two machines) and the merge
// job publishes the verified index.
import { cpSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { execa } from "execa";
import { describe, expect, test } from "vitest";
import { parse, stringify } from "yaml";
import { cli, docker, env, namespace, packCli, platformsOf, project, testTool } from "./helpers.ts";

const git = (cwd: string, args: string[]) => execa("git", ["-c", "user.email=ci@example.invalid", "-c", "user.name=ci", ...args], { cwd });

describe.skipIf(!env)("multiarch ci gitlab, run by gitlab-ci-local", () => {
  test("MR pipeline: both platforms checked, nothing pushed; default branch: shards on two engines, merge publishes", async () => {
    const ns = namespace("gitlab");
    const dir = project(env!.registry, ns, `FROM ${env!.baseImage}\nRUN uname -m > /arch\n`, "    test: { run: [cat, /arch] }\n");
    // a repository that has multiarch as a devDependency (the workspace install), from the packed CLI
    const tarball = await packCli();
    cpSync(tarball, join(dir, "multiarch-cli.tgz"));
    writeFileSync(
      join(dir, "package.json"),
      JSON.stringify({ name: "user-project", private: true, devDependencies: { "@multiarch/cli": "file:multiarch-cli.tgz" } }),
    );
    await execa("npm", ["install", "--offline", "--no-audit", "--no-fund"], { cwd: dir });
    writeFileSync(join(dir, ".gitignore"), "node_modules/\n.gitlab-ci-local/\n.multiarch/\n");
    const gen = await cli(["ci", "gitlab"], { cwd: dir });
    expect(gen.exitCode, gen.stderr).toBe(0);
    expect(gen.stderr).toContain("multiarch installed by workspace");
    await execa("rm", ["-rf", join(dir, ".git")]);
    await git(dir, ["init", "-q", "-b", "main"]);
    await git(dir, ["remote", "add", "origin", "https://gitlab.example.invalid/acme/app.git"]);
    await git(dir, ["add", "-A"]);
    await git(dir, ["commit", "-qm", "app"]);

    const gcl = (args: string[], dockerHost?: string) =>
      execa(testTool("gitlab-ci-local"), args, { cwd: dir, reject: false, env: { NO_COLOR: "1", ...(dockerHost ? { DOCKER_HOST: dockerHost } : {}) } });
    // GitLab's own schema, on the pipeline as generated
    const list = await gcl(["--list"]);
    expect(list.exitCode, list.stderr + list.stdout).toBe(0);
    expect(list.stderr).toContain("json schema validated");
    // A shell runner ignores image: and services: (the engine is the machine's); gitlab-ci-local would
    // still start the services, so its copy leaves them out. Everything else runs as generated.
    const generated = parse(readFileSync(join(dir, ".gitlab-ci.yml"), "utf8"));
    delete generated[".multiarch"].image;
    delete generated[".multiarch"].services;
    writeFileSync(join(dir, ".gitlab-ci-shell.yml"), stringify(generated));
    const run = (args: string[], dockerHost?: string) =>
      gcl(["--file", ".gitlab-ci-shell.yml", "--force-shell-executor", "--shell-isolation", "--no-artifacts-to-source", ...args], dockerHost);
    const tag = `${env!.registry}/${ns}/app:1.0`;
    const tagsOf = async () => (await fetch(`http://${env!.registry}/v2/${ns}/app/tags/list`)).status;

    // a merge request (from the default branch itself, the worst case): each platform is built and
    // verified; no repository is even created
    let t = Date.now();
    // (one job at a time: on one shared engine, both load their archive under the same name)
    const mr = await run([
      "--concurrency",
      "1",
      "--ignore-predefined-vars",
      "CI_PIPELINE_SOURCE",
      "--variable",
      "CI_PIPELINE_SOURCE=merge_request_event",
      "--variable",
      "CI_MERGE_REQUEST_IID=1",
    ]);
    const mrSeconds = (Date.now() - t) / 1000;
    expect(mr.exitCode, mr.stdout).toBe(0);
    expect(mr.stdout).toMatch(/PASS\s+check: \[linux\/amd64/);
    expect(mr.stdout).toMatch(/PASS\s+check: \[linux\/arm64/);
    expect(mr.stdout).not.toMatch(/PASS\s+(shard|merge)/);
    // and each platform's test ran, from the archive loaded into the engine
    expect(mr.stdout + mr.stderr).toContain("test:app/linux/amd64 ok");
    expect(mr.stdout + mr.stderr).toContain("test:app/linux/arm64 ok");
    expect(await tagsOf()).toBe(404);

    // the default branch: the amd64 shard on the second engine, arm64 on the first, then merge
    t = Date.now();
    const amd = await run(["shard: [linux/amd64,linux-amd64,saas-linux-small-amd64,]"], env!.docker2);
    expect(amd.exitCode, amd.stdout).toBe(0);
    const arm = await run(["shard: [linux/arm64,linux-arm64,saas-linux-small-arm64,]"]);
    expect(arm.exitCode, arm.stdout).toBe(0);
    expect((await platformsOf(tag).catch(() => undefined))?.platforms).toBeUndefined(); // shards move no tag
    const merge = await run(["merge"]);
    const pipelineSeconds = (Date.now() - t) / 1000;
    expect(merge.exitCode, merge.stdout).toBe(0);
    expect(merge.stdout).toContain("merge imported artifacts");
    const index = await platformsOf(tag);
    expect(index.platforms).toEqual(["linux/amd64", "linux/arm64"]);
    expect((await platformsOf(`${env!.registry}/${ns}/app:latest`)).digest).toBe(index.digest);
    // the merge job's artifact: what was published
    const meta = JSON.parse(readFileSync(join(dir, ".gitlab-ci-local/artifacts/merge/multiarch-metadata.json"), "utf8"));
    expect(meta.app["containerimage.digest"]).toBe(index.digest);
    // the amd64 image was built by the second engine: the first never saw it
    const artifacts = join(dir, ".gitlab-ci-local/artifacts");
    const amdJob = readdirSync(artifacts).find((d) => d.startsWith("shard") && d.includes("amd64"))!;
    const amdShard = JSON.parse(readFileSync(join(artifacts, amdJob, ".multiarch/shards/linux-amd64.json"), "utf8"));
    const staging = Object.values(amdShard.images.app.refs as Record<string, { staging: string }>)[0]!.staging;
    expect((await docker(["image", "inspect", staging])).exitCode).not.toBe(0);
    expect((await docker(["run", "--rm", "--pull", "always", "--platform", "linux/arm64", tag, "cat", "/arch"])).stdout.trim()).toBe("aarch64");

    console.log(`gitlab-ci-local: merge-request pipeline ${mrSeconds.toFixed(1)}s, default-branch pipeline ${pipelineSeconds.toFixed(1)}s`);
  }, 300_000);
});
