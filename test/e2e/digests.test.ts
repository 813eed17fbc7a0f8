// No staging tags, reproducible digests (issue 21, items 3 and 4), on buildx's docker driver: every
// repository's tag list (registry API) holds only the spec's tags after apply and after a shard merge,
// on both strategies; nothing of the run stays in the engine's image store (after a failed or interrupted
// smoke test too, and after each shard's); a run killed while pushing leaves no tag; two cold builds on
// two engines publish one index digest.
import { spawn, spawnSync } from "node:child_process";
import { cpSync, mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, test } from "vitest";
import { BIN, cli, docker, env, namespace, platformsOf, project, reportOf, tagsOf } from "./helpers.ts";

/** Images of this namespace in the engine's store, once the background clean-up had time to finish. */
async function engineImages(ns: string, host?: string): Promise<string[]> {
  let left: string[] = [];
  for (let i = 0; i < 30; i++) {
    const r = await docker(["image", "ls", "--format", "{{.Repository}}@{{.Digest}}"], host ? { env: { DOCKER_HOST: host } } : {});
    left = r.stdout.split("\n").filter((l) => l.includes(`/${ns}/`));
    if (left.length === 0) return left;
    await new Promise((r) => setTimeout(r, 1000));
  }
  return left;
}

/** A real git repository (SOURCE_DATE_EPOCH is its commit's time). */
function committed(dir: string): void {
  const env = { ...process.env, GIT_AUTHOR_NAME: "t", GIT_AUTHOR_EMAIL: "t@t", GIT_COMMITTER_NAME: "t", GIT_COMMITTER_EMAIL: "t@t" };
  spawnSync("rm", ["-rf", join(dir, ".git")]);
  for (const args of [
    ["init", "-q"],
    ["add", "."],
    ["commit", "-qm", "t", "--date", "2024-01-02T03:04:05Z"],
  ]) {
    const r = spawnSync("git", args, { cwd: dir, env: { ...env, GIT_COMMITTER_DATE: "2024-01-02T03:04:05Z" } });
    if (r.status !== 0) throw new Error(`git ${args.join(" ")}: ${r.stderr}`);
  }
}

// the spec's tags and nothing else, with either strategy (the manifest strategy once wrote 1.0-amd64 too)
const SPEC_TAGS = { bake: ["1.0", "latest"], manifest: ["1.0", "latest"] };

describe.skipIf(!env)("no staging tags", () => {
  test.each(["bake", "manifest"] as const)("apply, strategy %s: only the spec's tags, nothing left in the engine", async (strategy) => {
    const ns = namespace(`notags-${strategy}`);
    const dir = project(env!.registry, ns, `FROM ${env!.baseImage}\nRUN echo ${ns} > /v\n`, `    test: { run: [cat, /v] }\nbuild: { strategy: ${strategy} }\n`);
    expect(await tagsOf(`${ns}/app`)).toEqual([]);
    const r = await cli(["apply", "-f", join(dir, "multiarch.yaml"), "--json"]);
    expect(r.exitCode, r.stderr).toBe(0);
    expect(await tagsOf(`${ns}/app`)).toEqual(SPEC_TAGS[strategy]);
    expect(await engineImages(ns)).toEqual([]);
    // the pushes were by digest: what the report says it pushed is what the tags hold
    const report = reportOf(r.stdout);
    const index = report.staged.find((s: { key: string }) => !/-(amd64|arm64)$/.test(s.key));
    expect((await platformsOf(`${env!.registry}/${ns}/app:1.0`)).digest).toBe(index.digest);
  });

  // each shard's smoke test pulls its platform's image by digest; the shard's cleanup stage removes it
  test.each(["bake", "manifest"] as const)("shards and merge, strategy %s: shards move no tag, leave no image; the merge only the spec's", async (strategy) => {
    const ns = namespace(`notags-shard-${strategy}`);
    const smoke = `    test: { run: [cat, /arch] }\n`;
    const dir = project(env!.registry, ns, `FROM ${env!.baseImage}\nRUN uname -m > /arch\n`, `${smoke}build: { strategy: ${strategy} }\n`);
    const spec = join(dir, "multiarch.yaml");
    for (const p of ["linux/amd64", "linux/arm64"]) {
      const r = await cli(["apply", "-f", spec, "--shard", p, "--json"]);
      expect(r.exitCode, r.stderr).toBe(0);
      expect(JSON.parse(r.stdout).reports[0].steps.find((s: { kind: string }) => s.kind === "test").status).toBe("ok");
      expect(await engineImages(ns)).toEqual([]);
    }
    expect(await tagsOf(`${ns}/app`)).toEqual([]);
    const merged = await cli(["merge", "-f", spec]);
    expect(merged.exitCode, merged.stderr).toBe(0);
    expect(await tagsOf(`${ns}/app`)).toEqual(SPEC_TAGS[strategy]);
    expect((await platformsOf(`${env!.registry}/${ns}/app:latest`)).platforms).toEqual(["linux/amd64", "linux/arm64"]);
    expect(await engineImages(ns)).toEqual([]);
  });

  // the smoke test pulls each platform of the pushed index into the engine; a failure stops the run, not the clean-up
  test.each(["bake", "manifest"] as const)("a failed smoke test, strategy %s: exit 2, no tag, and the image it pulled leaves the engine", async (strategy) => {
    const ns = namespace(`failtest-${strategy}`);
    const dir = project(
      env!.registry,
      ns,
      `FROM ${env!.baseImage}\nRUN echo ${ns} > /v\n`,
      `    test: { run: [cat, /missing] }\nbuild: { strategy: ${strategy} }\n`,
    );
    const r = await cli(["apply", "-f", join(dir, "multiarch.yaml"), "--json"]);
    expect(r.exitCode, r.stderr).toBe(2);
    const report = reportOf(r.stdout);
    expect(report.images[0]).toMatchObject({ name: "app", status: "failed" });
    expect(report.steps.filter((s: { kind: string }) => s.kind === "test").map((s: { status: string }) => s.status)).toContain("failed");
    expect(report.steps.find((s: { kind: string }) => s.kind === "publish").status).toBe("not-run");
    expect(await tagsOf(`${ns}/app`)).toEqual([]);
    expect(await engineImages(ns)).toEqual([]);
    expect(report.steps.find((s: { kind: string }) => s.kind === "cleanup").status).toBe("ok");
  });

  test("a run interrupted during its smoke test: exit 130, and the image the test pulled leaves the engine", async () => {
    const ns = namespace("failtest-int");
    const dir = project(env!.registry, ns, `FROM ${env!.baseImage}\nRUN echo ${ns} > /v\n`, `    test: { run: [sleep, "60"] }\n`);
    const child = spawn(process.execPath, [BIN, "apply", "-f", join(dir, "multiarch.yaml")], {
      stdio: ["ignore", "pipe", "pipe"],
      env: { ...process.env, NO_COLOR: "1" },
    });
    let out = "";
    child.stdout.on("data", (c: Buffer) => (out += c.toString()));
    child.stderr.on("data", (c: Buffer) => (out += c.toString()));
    const exited = new Promise<number | null>((r) => child.on("close", (code) => r(code)));
    // interrupted once both platforms' test containers run (they sleep). A stop in the instant between
    // docker creating a container and attaching to it is not covered: docker has nothing to pass it to yet
    const running = async () => {
      const lines = (await docker(["image", "ls", "--format", "{{.Repository}} {{.ID}}"])).stdout.split("\n").filter((l) => l.includes(`/${ns}/`));
      const images = lines.map((l) => l.split(" ")[1]!);
      const ids = await Promise.all(images.map(async (i) => (await docker(["ps", "-q", "--filter", `ancestor=${i}`])).stdout.split("\n").filter(Boolean)));
      return ids.flat();
    };
    let containers: string[] = [];
    for (let i = 0; i < 600 && containers.length < 2; i++) {
      containers = await running();
      if (containers.length < 2) await new Promise((r) => setTimeout(r, 100));
    }
    expect(containers, out).toHaveLength(2);
    // docker attaches to a container just after it starts: signals reach it from then on
    await new Promise((r) => setTimeout(r, 500));
    child.kill("SIGINT");
    expect(await exited, out).toBe(130);
    // the test's own process as PID 1 ignored the stop; through docker's init (--init) it ends with it
    const left = (await docker(["ps", "-q", ...containers.flatMap((c) => ["--filter", `id=${c}`])])).stdout.trim();
    expect(left, "the smoke test's container still runs").toBe("");
    expect(out).toContain("test:app/");
    expect(out).not.toContain("publish:app");
    expect(await tagsOf(`${ns}/app`)).toEqual([]);
    expect(await engineImages(ns)).toEqual([]);
  });

  test("a run killed while pushing leaves no tag", async () => {
    const ns = namespace("notags-kill");
    // a layer of 48 MB of random bytes, so the push takes a moment
    const dir = project(env!.registry, ns, `FROM ${env!.baseImage}\nRUN head -c 50000000 /dev/urandom > /blob\n`);
    const child = spawn(process.execPath, [BIN, "apply", "-f", join(dir, "multiarch.yaml")], {
      stdio: ["ignore", "pipe", "pipe"],
      env: { ...process.env, NO_COLOR: "1" },
    });
    let out = "";
    const killed = new Promise<void>((resolve) => {
      const watch = (chunk: Buffer) => {
        out += chunk.toString();
        if (/push:app@local \.\.\./.test(out) && !child.killed) {
          child.kill("SIGKILL");
          resolve();
        }
      };
      child.stdout.on("data", watch);
      child.stderr.on("data", watch);
      child.on("exit", () => resolve());
    });
    await killed;
    await new Promise((r) => child.on("close", r));
    expect(out).toContain("push:app@local ...");
    expect(out).not.toContain("publish:app");
    expect(await tagsOf(`${ns}/app`)).toEqual([]);
    expect(await engineImages(ns)).toEqual([]);
  });
});

describe.skipIf(!env)("reproducible digests on the docker driver", () => {
  // two engines that never saw this image (its Dockerfile is unique to the test run): both cold
  test.each(["bake", "manifest"] as const)("strategy %s: two cold builds of a RUN step publish one index digest", async (strategy) => {
    const ns = namespace(`repro-${strategy}`);
    const first = project(
      env!.registry,
      ns,
      `FROM ${env!.baseImage}\nCOPY Dockerfile /Dockerfile\nRUN echo ${ns} > /v && touch /stamp\n`,
      `    attest: { provenance: false }\nbuild: { strategy: ${strategy} }\n`,
    );
    committed(first);
    const second = mkdtempSync(join(tmpdir(), "multiarch-repro-"));
    cpSync(first, second, { recursive: true });

    const a = await cli(["apply", "-f", join(first, "multiarch.yaml"), "--json"]);
    expect(a.exitCode, a.stderr).toBe(0);
    const published = (await platformsOf(`${env!.registry}/${ns}/app:1.0`)).digest;
    // the same commit built again from nothing on the other engine: the very same index
    const b = await cli(["apply", "-f", join(second, "multiarch.yaml"), "--rebuild", "--json"], { env: { DOCKER_HOST: env!.docker2 } });
    expect(b.exitCode, b.stderr).toBe(0);
    const again = reportOf(b.stdout);
    const built = again.staged.find((s: { key: string }) => !/-(amd64|arm64)$/.test(s.key));
    expect(built.digest).toBe(published);
    expect(again.images[0].status).toBe("unchanged");
    expect((await platformsOf(`${env!.registry}/${ns}/app:1.0`)).digest).toBe(published);
  });
});
