// Partial runs keep the promise (issue 8) and a run publishes only what it built (issue 9), against the
// real engine and registry. Each test here failed before its fix.
import { createHash } from "node:crypto";
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { execa } from "execa";
import { describe, expect, test } from "vitest";
import { BIN, cli, docker, env, example, namespace, platformsOf, project, repo } from "./helpers.ts";

const json = (stdout: string) =>
  JSON.parse(stdout) as {
    report: {
      images: { name: string; status: string; digest?: string; notPublished?: string }[];
      tags: { ref: string; status: string; digest?: string }[];
      steps: { id: string; status: string; stderrTail?: string }[];
      staged: { ref: string }[];
    };
  };

describe.skipIf(!env)("partial runs", () => {
  test("a --platform subset after a full publish leaves every tag on the 3-arch index (item 1)", async () => {
    const ns = namespace("partial-quickstart");
    const dir = example("quickstart", ns);
    const version = `0.9.${Date.now()}`;
    const full = await cli(["apply", "-f", join(dir, "multiarch.yaml")], { env: { VERSION: version } });
    expect(full.exitCode, full.stderr).toBe(0);
    const before = await platformsOf(`${env!.registry}/${ns}/hello:${version}`);
    const sub = await cli(["apply", "-f", join(dir, "multiarch.yaml"), "--platform", "linux/amd64", "--json"], { env: { VERSION: version } });
    expect(sub.exitCode, sub.stderr).toBe(0);
    const r = json(sub.stdout).report;
    expect(r.images[0]).toMatchObject({ status: "verified" });
    expect(r.images[0]!.notPublished).toContain("subset of the planned platforms");
    expect(r.tags).toEqual([]);
    expect(sub.stderr).toContain("nothing published");
    const after = await platformsOf(`${env!.registry}/${ns}/hello:${version}`);
    expect(after).toEqual(before);
    expect(after.platforms).toHaveLength(3);
  });

  // Without attestations one platform is one manifest, not an index: buildx refused the index
  // annotations that carry the input hash ("index annotations not supported for single platform export").
  test("provenance off: a --platform subset is built and verified, and an image of one platform is published, up to date after", async () => {
    const dir = project(
      env!.registry,
      namespace("single-manifest"),
      "FROM 127.0.0.1:5000/base/busybox:1\nRUN echo one\n",
      "    attest: { provenance: false }\n",
    );
    const spec = join(dir, "multiarch.yaml");
    const sub = await cli(["apply", "-f", spec, "--strategy", "bake", "--platform", "linux/amd64", "--json"]);
    expect(sub.exitCode, sub.stderr).toBe(0);
    expect(json(sub.stdout).report.images[0]).toMatchObject({ status: "verified" });
    const one = ["apply", "-f", spec, "--strategy", "bake", "--set", "app.platforms=linux/amd64", "--json"];
    const full = await cli(one);
    expect(full.exitCode, full.stderr).toBe(0);
    expect(json(full.stdout).report.images[0]).toMatchObject({ status: "published" });
    const again = await cli(one);
    expect(json(again.stdout).report.images[0]).toMatchObject({ status: "up-to-date" });
  });

  test("--image of an image that builds FROM another builds the base too, publishing only the selection (item 2)", async () => {
    const ns = namespace("partial-monorepo");
    const dir = example("monorepo", ns);
    const version = `2.0.${Date.now()}`;
    const r = await cli(["apply", "-f", join(dir, "multiarch.yaml"), "--image", "api", "--json"], { env: { VERSION: version } });
    expect(r.exitCode, r.stderr).toBe(0);
    const report = json(r.stdout).report;
    expect(report.images.map((i) => [i.name, i.status])).toEqual([
      ["base", "built"],
      ["api", "published"],
    ]);
    expect((await platformsOf(`${env!.registry}/${ns}/acme-api:${version}`)).platforms).toEqual(["linux/amd64", "linux/arm64"]);
    expect((await docker(["buildx", "imagetools", "inspect", `${env!.registry}/${ns}/base:${version}`])).exitCode).not.toBe(0);
    // nor named under its tags in the engine: bake builds a linked target without outputs, which the docker
    // driver loaded under the target's tags until the run set BUILDX_NO_DEFAULT_LOAD
    expect((await docker(["image", "inspect", `${env!.registry}/${ns}/base:${version}`])).exitCode).not.toBe(0);
    // a full run after it: api's hash is the one the --image run gave it (base hashed as the spec plans it,
    // not for api's platforms only), so api is up to date; an --image run after that builds nothing either,
    // base FROM'd by digest
    const all = await cli(["apply", "-f", join(dir, "multiarch.yaml"), "--json"], { env: { VERSION: version } });
    expect(all.exitCode, all.stderr).toBe(0);
    expect(json(all.stdout).report.images.map((i) => [i.name, i.status])).toEqual([
      ["base", "published"],
      ["api", "up-to-date"],
      ["web", "published"],
    ]);
    const again = await cli(["apply", "-f", join(dir, "multiarch.yaml"), "--image", "api", "--json"], { env: { VERSION: version } });
    expect(json(again.stdout).report.images.map((i) => [i.name, i.status])).toEqual([
      ["base", "up-to-date"],
      ["api", "up-to-date"],
    ]);
  });

  // the pull request check: archives tested under names of their own, which leave the engine after
  test("--no-push tests each archive under multiarch.local/CHECKOUT/IMAGE:TAG, then removes it; nothing reaches the registry", async () => {
    const ns = namespace("no-push");
    const dir = project(env!.registry, ns, `FROM ${env!.baseImage}\nRUN echo checked > /x\n`, "    test: { run: [cat, /x] }\n");
    const r = await cli(["apply", "-f", join(dir, "multiarch.yaml"), "--no-push", "--json"]);
    expect(r.exitCode, r.stderr).toBe(0);
    expect(json(r.stdout).report.images[0]).toMatchObject({ name: "app", status: "written" });
    const plan = JSON.parse(readFileSync(join(dir, ".multiarch/plan.json"), "utf8")) as {
      stages: { steps: { kind: string; commands: { args: string[] }[] }[] }[];
    };
    const runs = plan.stages
      .flatMap((s) => s.steps)
      .filter((s) => s.kind === "test")
      .map((s) => s.commands[1]!.args.join(" "));
    // the checkout's own namespace: another checkout's check on this engine names its images otherwise
    const checked = `multiarch.local/${createHash("sha256").update(join(dir, "multiarch.yaml")).digest("hex").slice(0, 8)}/app:1.0`;
    expect(runs).toEqual(["linux/amd64", "linux/arm64"].map((p) => `run --rm --init --quiet --pull never --platform ${p} ${checked} cat /x`));
    // removed in the background: given a few seconds
    let left = 0;
    for (let i = 0; i < 20; i++) {
      left = (await docker(["image", "inspect", checked])).exitCode === 0 ? 1 : 0;
      if (!left) break;
      await new Promise((resolve) => setTimeout(resolve, 500));
    }
    expect(left).toBe(0);
    expect((await docker(["buildx", "imagetools", "inspect", `${env!.registry}/${ns}/app:1.0`])).exitCode).not.toBe(0);
  });

  test("--load with registries builds, verifies, tests, loads, and publishes nothing (item 3)", async () => {
    const ns = namespace("load");
    const dir = project(env!.registry, ns, `FROM ${env!.baseImage}\nRUN echo loaded > /x\n`, "    test: { run: [cat, /x] }\n");
    const r = await cli(["apply", "-f", join(dir, "multiarch.yaml"), "--load"]);
    expect(r.exitCode, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/app\s+loaded/);
    expect((await docker(["buildx", "imagetools", "inspect", `${env!.registry}/${ns}/app:1.0`])).exitCode).not.toBe(0);
    const run = await docker(["run", "--rm", `${env!.registry}/${ns}/app:1.0`, "cat", "/x"]);
    expect(run.stdout.trim()).toBe("loaded");
  });

  test("a failing smoke test is reported with its own output, not the pull's", async () => {
    const dir = project(
      env!.registry,
      namespace("test-output"),
      `FROM ${env!.baseImage}\n`,
      '    test: { run: [/bin/sh, -c, "echo arch=$(uname -m); exit 3"] }\n',
    );
    const r = await cli(["apply", "-f", join(dir, "multiarch.yaml"), "--platform", "linux/amd64", "--json"]);
    expect(r.exitCode).toBe(2);
    const test = json(r.stdout).report.steps.find((s) => s.id.startsWith("test:"))!;
    expect(test).toMatchObject({ status: "failed" });
    expect(test.stderrTail).toContain("arch=x86_64");
    expect(test.stderrTail).not.toMatch(/Pulling from|Downloaded newer image/);
  });

  test("one failing image leaves the others verified, and nothing is published (item 4)", async () => {
    const ns = namespace("status");
    const dir = repo({
      "multiarch.yaml": `version: 1
platforms: [linux/amd64, linux/arm64]
registries: { local: { url: "${env!.registry}/${ns}", insecure: true } }
images:
  good: { context: good, test: { run: [/bin/true] } }
  bad: { context: good, repository: bad, test: { run: [/bin/false] } }
`,
      "good/Dockerfile": `FROM ${env!.baseImage}\n`,
    });
    const r = await cli(["apply", "-f", join(dir, "multiarch.yaml"), "--json"]);
    expect(r.exitCode).toBe(2);
    const report = json(r.stdout).report;
    expect(report.images.map((i) => [i.name, i.status])).toEqual([
      ["good", "verified"],
      ["bad", "failed"],
    ]);
    expect(report.tags.every((t) => t.status === "not-moved")).toBe(true);
    expect(r.stderr).toContain("no user tag was moved");
  });

  test("a default plan's per-arch plan pushes its images on the docker driver", async () => {
    const ns = namespace("shard");
    const dir = project(env!.registry, ns, `FROM ${env!.baseImage}\n`);
    const p = await cli(["plan", "-f", join(dir, "multiarch.yaml")]);
    expect(p.exitCode, p.stderr).toBe(0);
    const r = await cli(["apply", "--plan", join(dir, ".multiarch/plans/linux-arm64.json"), "--json"]);
    expect(r.exitCode, r.stderr).toBe(0);
    const staged = json(r.stdout).report.staged;
    expect(staged).toHaveLength(1);
    expect((await platformsOf(staged[0]!.ref)).platforms).toEqual(["linux/arm64"]);
  });
});

describe.skipIf(!env)("runs publish only what they built", () => {
  test("a build secret printed by a failing step is in no output (issue 9, item 3)", async () => {
    const ns = namespace("secret");
    const secret = `s3cr3t-${Date.now()}-value`;
    const dir = project(
      env!.registry,
      ns,
      `FROM ${env!.baseImage}\nRUN --mount=type=secret,id=tok cat /run/secrets/tok && false\n`,
      "    secrets: [{ id: tok, env: MA_E2E_TOK }]\n",
    );
    const runs = [
      await cli(["apply", "-f", join(dir, "multiarch.yaml"), "--json"], { env: { MA_E2E_TOK: secret } }),
      await cli(["apply", "-f", join(dir, "multiarch.yaml"), "-v"], { env: { MA_E2E_TOK: secret } }),
    ];
    for (const r of runs) {
      expect(r.exitCode).toBe(2);
      expect(r.stdout + r.stderr).not.toContain(secret);
    }
    expect(runs[1]!.stderr).toContain("***");
  });

  test("the run refused by the lock writes nothing; -o elsewhere is refused too (issue 9, item 2)", async () => {
    const ns = namespace("lock");
    const dir = project(env!.registry, ns, `FROM ${env!.baseImage}\nRUN sleep 8\n`);
    const first = execa("node", [BIN, "apply", "-f", join(dir, "multiarch.yaml"), "--json"], { env: { NO_COLOR: "1" }, reject: false, stdin: "ignore" });
    // wait until the first run holds the lock and has written its plan (it is building by then)
    for (let i = 0; i < 300 && !(existsSync(join(dir, ".multiarch/multiarch.yaml.lock")) && existsSync(join(dir, ".multiarch/plan.json"))); i++) {
      await new Promise((r) => setTimeout(r, 100));
    }
    const bakeFile = readFileSync(join(dir, ".multiarch/docker-bake.json"), "utf8");
    for (const extra of [
      ["--platform", "linux/amd64"],
      ["-o", join(dir, "elsewhere")],
    ]) {
      const second = await cli(["apply", "-f", join(dir, "multiarch.yaml"), ...extra]);
      expect(second.exitCode).toBe(5);
      expect(second.stderr).toContain("holds its lock");
    }
    expect(readFileSync(join(dir, ".multiarch/docker-bake.json"), "utf8")).toBe(bakeFile);
    const done = await first;
    expect(done.exitCode, String(done.stderr)).toBe(0);
    expect((await platformsOf(`${env!.registry}/${ns}/app:1.0`)).platforms).toEqual(["linux/amd64", "linux/arm64"]);
  });

  test("a builder that does not exist is named, exit 4 (issue 9, item 7)", async () => {
    const ns = namespace("builder");
    const dir = project(env!.registry, ns, `FROM ${env!.baseImage}\n`, "build:\n  builder: nosuchbuilder\n");
    const r = await cli(["apply", "-f", join(dir, "multiarch.yaml")]);
    expect(r.exitCode, r.stderr).toBe(4);
    expect(r.stderr).toContain("builder nosuchbuilder does not exist");
    expect(r.stderr).toContain("docker buildx create --name nosuchbuilder");
  });

  // issue 9, item 1: two checkouts of one spec at different commits, applied at the same time
  test.each(["bake", "manifest"])(
    "two commits applied at once: every tag holds one run's content, each report names its own (%s)",
    async (strategy) => {
      const ns = namespace(`race-${strategy}`);
      const make = (content: string) => {
        const dir = project(env!.registry, ns, `FROM ${env!.baseImage}\nARG C=${content}\nRUN echo $C > /content\n`);
        const git = (...args: string[]) =>
          execa("git", args, { cwd: dir, env: { GIT_AUTHOR_NAME: "t", GIT_AUTHOR_EMAIL: "t@t", GIT_COMMITTER_NAME: "t", GIT_COMMITTER_EMAIL: "t@t" } });
        return { dir, git };
      };
      const a = make("from-a");
      const b = make("from-b");
      for (const c of [a, b]) {
        await execa("rm", ["-rf", join(c.dir, ".git")]);
        await c.git("init", "-q");
        await c.git("add", ".");
        await c.git("commit", "-qm", "x");
      }
      for (let round = 0; round < 2; round++) {
        const [ra, rb] = await Promise.all([a, b].map((c) => cli(["apply", "-f", join(c.dir, "multiarch.yaml"), "--strategy", strategy, "--json"])));
        for (const [r, content] of [
          [ra!, "from-a"],
          [rb!, "from-b"],
        ] as const) {
          if (r.exitCode !== 0) continue; // failing clearly is allowed; publishing the other's content is not
          const moved = json(r.stdout).report.tags.find((t) => t.status === "moved" && t.ref.endsWith(":1.0"));
          if (!moved?.digest) continue;
          for (const platform of ["linux/amd64", "linux/arm64"]) {
            const out = await docker([
              "run",
              "--rm",
              "--pull",
              "always",
              "--platform",
              platform,
              `${env!.registry}/${ns}/app@${moved.digest}`,
              "cat",
              "/content",
            ]);
            expect(out.stdout.trim(), `${strategy} round ${round}: ${platform} of the digest the run reports`).toBe(content);
          }
        }
        // whoever won the tag, it holds one run's content on every platform
        const seen = new Set<string>();
        for (const platform of ["linux/amd64", "linux/arm64"]) {
          seen.add(
            (await docker(["run", "--rm", "--pull", "always", "--platform", platform, `${env!.registry}/${ns}/app:1.0`, "cat", "/content"])).stdout.trim(),
          );
        }
        expect(seen.size, `round ${round}: mixed content ${[...seen]}`).toBe(1);
      }
    },
    240_000,
  );

  // found by a review: --metadata-file in a folder that does not exist failed after the tags had moved,
  // with exit 1 ("nothing was run")
  test("--metadata-file and --report: their folders are made, and a path that cannot be written stops the run before it starts", async () => {
    const ns = namespace("metadata-file");
    const dir = project(env!.registry, ns, `FROM ${env!.baseImage}\n`);
    const spec = join(dir, "multiarch.yaml");
    writeFileSync(join(dir, "a-file"), "");
    const refused = await cli(["apply", "-f", spec, "--metadata-file", join(dir, "a-file", "meta.json")]);
    expect(refused.exitCode, refused.stderr).toBe(4);
    expect(refused.stderr).toMatch(/--metadata-file \S*a-file\/meta.json cannot be written \([A-Z]+\): nothing was run/);
    expect(refused.stderr).not.toContain("== build");
    const r = await cli(["apply", "-f", spec, "--metadata-file", join(dir, "out/meta.json"), "--report", join(dir, "out/html/report.html")]);
    expect(r.exitCode, r.stderr).toBe(0);
    expect(JSON.parse(readFileSync(join(dir, "out/meta.json"), "utf8"))).toBeTruthy();
    expect(existsSync(join(dir, "out/html/report.html"))).toBe(true);
    // found by a review: a full disk after the run named the metadata's failure alone, and left empty files
    // (/dev/full: every write is ENOSPC)
    const full = await cli(["apply", "-f", spec, "--metadata-file", "/dev/full", "--report", "/dev/full"]);
    expect(full.exitCode, full.stderr).toBe(4);
    expect(full.stderr).toContain("cannot write the metadata: ENOSPC");
    expect(full.stderr).toContain("cannot write the report: ENOSPC");
    expect(existsSync("/dev/full")).toBe(true);
  }, 240_000);
});
