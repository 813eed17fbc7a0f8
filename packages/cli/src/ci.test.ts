// multiarch ci github|gitlab: the generated files are valid for their CI and run the shard/merge pair.
import { cpSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { describe, expect, test } from "vitest";
import { parse } from "yaml";
import { run } from "./cli.ts";
import { memoryIo } from "./testing/io.ts";

// a WebAssembly build of action-validator: GitHub's workflow schema, checked offline
const { validateWorkflow } = createRequire(import.meta.url)("@action-validator/core") as { validateWorkflow(src: string): { errors: unknown[] } };
const EXAMPLES = resolve(import.meta.dirname, "../../../examples");

function checkout(example: string): string {
  const dir = mkdtempSync(join(tmpdir(), "multiarch-ci-"));
  cpSync(join(EXAMPLES, example), dir, { recursive: true, filter: (s) => !s.includes(".multiarch") });
  mkdirSync(join(dir, ".git"));
  return dir;
}

describe("multiarch ci", () => {
  test("github: a valid workflow, a native runner per platform, QEMU only for arm/v7, shards merged", async () => {
    const dir = join(EXAMPLES, "quickstart");
    const out = join(mkdtempSync(join(tmpdir(), "multiarch-ci-")), "multiarch.yml");
    const io = memoryIo(dir);
    expect(await run(["ci", "github", "-o", out], io)).toBe(0);
    const text = readFileSync(out, "utf8");
    expect(validateWorkflow(text).errors).toEqual([]);
    const wf = parse(text);
    expect(wf.jobs.shard.strategy.matrix.include).toEqual([
      { platform: "linux/amd64", slug: "linux-amd64", runner: "ubuntu-24.04", qemu: false },
      { platform: "linux/arm64", slug: "linux-arm64", runner: "ubuntu-24.04-arm", qemu: false },
      { platform: "linux/arm/v7", slug: "linux-arm-v7", runner: "ubuntu-24.04-arm", qemu: true },
    ]);
    expect(wf.jobs.merge.needs).toBe("shard");
    expect(JSON.stringify(wf)).toContain("apply -f examples/quickstart/multiarch.yaml --shard ${{ matrix.platform }}");
    expect(JSON.stringify(wf)).toContain("merge -f examples/quickstart/multiarch.yaml --from shards");
    // every action pinned to an exact release
    const uses = [...text.matchAll(/uses: (\S+)/g)].map((m) => m[1]!);
    expect(uses.every((u) => /@v\d+\.\d+\.\d+$/.test(u))).toBe(true);
    // refuses to overwrite without --force
    expect(await run(["ci", "github", "-o", out], memoryIo(dir))).toBe(1);
    expect(await run(["ci", "github", "-o", out, "--force"], memoryIo(dir))).toBe(0);
  });

  test("credentials come from CI secrets of the names the spec reads", async () => {
    const dir = checkout("quickstart");
    writeFileSync(
      join(dir, "multiarch.yaml"),
      readFileSync(join(dir, "multiarch.yaml"), "utf8").replace(
        /registries:\n/,
        "registries:\n  hub: { url: docker.io/acme, username: { env: HUB_USER }, password: { env: HUB_TOKEN } }\n",
      ),
    );
    const out = join(dir, "wf.yml");
    const io = memoryIo(dir);
    const code = await run(["ci", "github", "-o", out], io);
    expect(code, io.err()).toBe(0);
    const wf = parse(readFileSync(out, "utf8"));
    expect(wf.jobs.shard.env).toEqual({ HUB_USER: "${{ secrets.HUB_USER }}", HUB_TOKEN: "${{ secrets.HUB_TOKEN }}" });
  });

  test("gitlab: parallel matrix of platforms, a merge job that needs them", async () => {
    const out = join(mkdtempSync(join(tmpdir(), "multiarch-ci-")), "gitlab.yml");
    expect(await run(["ci", "gitlab", "-o", out], memoryIo(join(EXAMPLES, "monorepo")))).toBe(0);
    const p = parse(readFileSync(out, "utf8"));
    expect(p.shard.parallel.matrix.map((m: { PLATFORM: string }) => m.PLATFORM)).toEqual(["linux/amd64", "linux/arm64", "linux/arm/v7"]);
    expect(p.merge.needs).toEqual(["shard"]);
  });

  test("an unknown provider is a usage error", async () => {
    const io = memoryIo(join(EXAMPLES, "quickstart"));
    expect(await run(["ci", "jenkins"], io)).toBe(1);
    expect(io.err()).toContain("multiarch ci github");
  });
});
