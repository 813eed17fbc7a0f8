// Every generated bake file goes through the real `docker buildx bake --print`: buildx 0.13 silently
// drops keys it does not know, so anything that does not survive the round trip is a bug.
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, test } from "vitest";
import { cli, docker, env, example } from "./helpers.ts";

const KEYS = [
  "context",
  "dockerfile",
  "target",
  "platforms",
  "tags",
  "args",
  "labels",
  "contexts",
  "secret",
  "cache-from",
  "cache-to",
  "attest",
  "output",
  "annotations",
] as const;

describe.skipIf(!env)("bake --print keeps everything we write", () => {
  test.each(["quickstart", "monorepo", "fallback", "oci", "sharded", "monorepo-turbo"])("%s", async (name) => {
    const dir = example(name);
    const plan = await cli(["plan", "-f", join(dir, "multiarch.yaml"), "--strategy", "bake"]);
    expect(plan.exitCode, plan.stderr).toBe(0);
    const ours = JSON.parse(readFileSync(join(dir, ".multiarch/docker-bake.json"), "utf8"));
    const printed = await docker(["buildx", "bake", "-f", ".multiarch/docker-bake.json", "--print"], { cwd: dir });
    expect(printed.exitCode, printed.stderr).toBe(0);
    const theirs = JSON.parse(printed.stdout);
    expect(theirs.group.default.targets).toEqual(ours.group.default.targets);
    for (const [name, target] of Object.entries(ours.target as Record<string, Record<string, unknown>>)) {
      const printedTarget = theirs.target[name];
      expect(printedTarget, `target ${name}`).toBeDefined();
      for (const key of KEYS) {
        if (target[key] !== undefined) expect(printedTarget[key], `${name}.${key}`).toEqual(target[key]);
      }
      for (const key of Object.keys(target)) expect(KEYS as readonly string[], `${name}.${key} is checked`).toContain(key);
    }
  });

  test("escaped ${ and %{ come back as literal text", async () => {
    const dir = example("quickstart");
    const yaml = readFileSync(join(dir, "multiarch.yaml"), "utf8").replace("    labels:\n", '    labels:\n      literal: "${HOME} %{x}"\n');
    const { writeFileSync } = await import("node:fs");
    writeFileSync(join(dir, "multiarch.yaml"), yaml);
    expect((await cli(["plan", "-f", join(dir, "multiarch.yaml"), "--strategy", "bake"])).exitCode).toBe(0);
    const printed = await docker(["buildx", "bake", "-f", ".multiarch/docker-bake.json", "--print"], { env: { HOME: "/should-not-appear" }, cwd: dir });
    expect(JSON.parse(printed.stdout).target.hello.labels.literal).toBe("${HOME} %{x}");
  });
});
