import type { Plan } from "@multiarch/plan";
import { describe, expect, test } from "vitest";
import type { StepOutcome } from "./report.ts";
import { kindTimings, summarize, tagOutcomes } from "./report.ts";

const ref = (name: string) => ({ registry: "r", name: `reg/${name}`, insecure: true, tags: ["1.0", "latest"], staging: `reg/${name}:multiarch-staging-x` });
const plan: Plan = {
  version: 3,
  spec: "multiarch.yaml",
  cwd: ".",
  strategy: { requested: "bake", chosen: "bake", reason: "t" },
  images: [
    { name: "good", platforms: ["linux/amd64"], dependsOn: [], refs: [ref("good")] },
    { name: "bad", platforms: ["linux/amd64"], dependsOn: [], refs: [ref("bad")] },
  ],
  stages: [
    { name: "build", steps: [{ id: "bake", kind: "bake", commands: [], inputs: [], produces: [] }] },
    {
      name: "verify",
      steps: ["good", "bad"].map((i) => ({ id: `verify:${i}@r`, kind: "verify" as const, image: i, commands: [], inputs: [], produces: [] })),
    },
    {
      name: "publish",
      steps: ["good", "bad"].map((i) => ({
        id: `publish:${i}@r`,
        kind: "publish" as const,
        image: i,
        commands: ["1.0", "latest"].map((t) => ({ program: "docker" as const, args: [], moves: `reg/${i}:${t}` })),
        inputs: [],
        produces: [],
      })),
    },
  ],
  secrets: [],
};
const outcome = (id: string, kind: StepOutcome["kind"], status: StepOutcome["status"], image?: string): StepOutcome => ({
  id,
  kind,
  ...(image ? { image } : {}),
  status,
  startMs: 0,
  durationMs: 1,
  attempts: 1,
});

describe("report", () => {
  test("an image's status comes from its own steps, not another image's failure", () => {
    const steps = [
      outcome("bake", "bake", "ok"),
      outcome("verify:good@r", "verify", "ok", "good"),
      outcome("verify:bad@r", "verify", "failed", "bad"),
      outcome("publish:good@r", "publish", "not-run", "good"),
      outcome("publish:bad@r", "publish", "not-run", "bad"),
    ];
    expect(summarize(plan, steps, new Map()).map((i) => [i.name, i.status])).toEqual([
      ["good", "verified"],
      ["bad", "failed"],
    ]);
  });

  // found by a review: apply --image tool --image bad --continue built base for tool (through bake's link,
  // no step of its own), and base said not-run, "the run stopped when bad failed (apply --continue …)"
  test("a dependency built through its users' links is built when one of them was", () => {
    const deps: Plan = {
      ...plan,
      images: [
        { name: "base", platforms: ["linux/amd64"], dependsOn: [], refs: [], notPublished: "dependency of tool" },
        { name: "tool", platforms: ["linux/amd64"], dependsOn: ["base"], refs: [ref("tool")] },
        { name: "bad", platforms: ["linux/amd64"], dependsOn: [], refs: [ref("bad")] },
      ],
      stages: [
        {
          name: "verify",
          steps: ["tool", "bad"].map((i) => ({ id: `verify:${i}@r`, kind: "verify" as const, image: i, commands: [], inputs: [], produces: [] })),
        },
      ],
    };
    const steps = [outcome("verify:tool@r", "verify", "ok", "tool"), outcome("verify:bad@r", "verify", "failed", "bad")];
    expect(summarize(deps, steps, new Map()).map((i) => [i.name, i.status, i.reason])).toEqual([
      ["base", "built", undefined],
      ["tool", "verified", undefined],
      ["bad", "failed", "verify:bad@r: failed"],
    ]);
    // nothing built FROM it: it was not built either
    expect(summarize(deps, [outcome("verify:tool@r", "verify", "failed", "tool")], new Map())[0]!.status).toBe("not-run");
    // found by a review: built FROM through an up-to-date image, which its users FROM by digest: not built
    const chain: Plan = {
      ...deps,
      images: [
        { name: "base", platforms: ["linux/amd64"], dependsOn: [], refs: [], notPublished: "internal image (publish: false)" },
        { name: "mid", platforms: ["linux/amd64"], dependsOn: ["base"], refs: [ref("mid")], upToDate: { digest: "sha256:mid" } },
        { name: "tool", platforms: ["linux/amd64"], dependsOn: ["mid"], refs: [ref("tool")] },
      ],
    };
    expect(summarize(chain, [outcome("verify:tool@r", "verify", "ok", "tool")], new Map()).map((i) => [i.name, i.status])).toEqual([
      ["base", "not-run"],
      ["mid", "up-to-date"],
      ["tool", "verified"],
    ]);
  });

  test("a failed bake fails every image it built", () => {
    expect(summarize(plan, [outcome("bake", "bake", "failed")], new Map()).map((i) => i.status)).toEqual(["failed", "failed"]);
  });

  test("a failed bake: the target BuildKit names failed (with its error), its dependents skipped, the rest built or cancelled", () => {
    const mono: Plan = {
      ...plan,
      images: [
        { name: "base", platforms: ["linux/amd64"], dependsOn: [], refs: [ref("base")] },
        { name: "b", platforms: ["linux/amd64"], dependsOn: ["base"], refs: [ref("b")] },
        { name: "d", platforms: ["linux/amd64"], dependsOn: ["b"], refs: [ref("d")] },
        { name: "c", platforms: ["linux/amd64"], dependsOn: ["base"], refs: [ref("c")] },
      ],
    };
    const bake: StepOutcome = {
      ...outcome("bake", "bake", "failed"),
      error: "docker buildx bake …: exit code 1",
      targets: [
        { target: "base", status: "built" },
        { target: "b", status: "failed", error: " > [b 2/2] RUN false:\nDockerfile:2" },
        { target: "d", status: "cancelled" },
        { target: "c", status: "cancelled" },
      ],
    };
    expect(summarize(mono, [bake], new Map()).map((i) => [i.name, i.status, i.reason])).toEqual([
      ["base", "built", undefined],
      ["b", "failed", " > [b 2/2] RUN false:\nDockerfile:2"],
      ["d", "skipped", "needs b, which failed"],
      ["c", "cancelled", "bake stopped when b failed"],
    ]);
  });

  // found by a review: after Ctrl-C, images were "skipped: needs base, which failed" and "not-run: … (apply
  // --continue builds and publishes the others)", though nothing failed; a test's reason lost its exit code
  test("an interrupt: what it cut off is cancelled, what finished says so, and nothing is called failed", () => {
    const mono: Plan = {
      ...plan,
      images: [
        { name: "base", platforms: ["linux/amd64"], dependsOn: [], refs: [ref("base")] },
        { name: "lib", platforms: ["linux/amd64"], dependsOn: ["base"], refs: [ref("lib")] },
        { name: "app", platforms: ["linux/amd64"], dependsOn: ["lib"], refs: [ref("app")] },
      ],
      stages: [
        {
          name: "verify",
          steps: ["base", "lib", "app"].map((i) => ({ id: `verify:${i}@r`, kind: "verify" as const, image: i, commands: [], inputs: [], produces: [] })),
        },
      ],
    };
    const steps = [
      outcome("verify:base@r", "verify", "failed", "base"),
      outcome("verify:lib@r", "verify", "ok", "lib"),
      outcome("verify:app@r", "verify", "not-run", "app"),
    ];
    expect(summarize(mono, steps, new Map(), true).map((i) => [i.name, i.status, i.reason])).toEqual([
      ["base", "cancelled", "interrupted: the run was stopped before it finished"],
      ["lib", "verified", undefined],
      ["app", "not-run", "interrupted: the run was stopped before it got to it"],
    ]);
    const test = { ...outcome("test:lib/linux/arm64", "test", "failed", "lib"), error: "docker run …: exit code 1", stderrTail: "lib aarch64" };
    expect(summarize(mono, [test], new Map()).find((i) => i.name === "lib")!.reason).toBe("test:lib/linux/arm64 failed (exit code 1):\nlib aarch64");
    // found by a review: a test failing on both platforms said the first one's output only
    const amd = { ...outcome("test:lib/linux/amd64", "test", "failed", "lib"), error: "docker run …: exit code 2", stderrTail: "lib x86_64" };
    expect(summarize(mono, [amd, test], new Map()).find((i) => i.name === "lib")!.reason).toBe(
      "test:lib/linux/amd64 failed (exit code 2):\nlib x86_64\ntest:lib/linux/arm64 failed (exit code 1):\nlib aarch64",
    );
  });

  test("time per kind of step: the wall time of overlapping steps once, and their sum", () => {
    const at = (id: string, kind: StepOutcome["kind"], startMs: number, durationMs: number): StepOutcome => ({
      ...outcome(id, kind, "ok"),
      startMs,
      durationMs,
    });
    expect(
      kindTimings([at("bake", "bake", 0, 10), at("v1", "verify", 10, 4), at("t1", "test", 11, 5), at("v2", "verify", 12, 4), at("p", "publish", 20, 1)]),
    ).toEqual([
      { kind: "bake", ms: 10, steps: 1, sumMs: 10 },
      { kind: "verify", ms: 6, steps: 2, sumMs: 8 },
      { kind: "test", ms: 5, steps: 1, sumMs: 5 },
      { kind: "publish", ms: 1, steps: 1, sumMs: 1 },
    ]);
  });

  test("per tag: moved (to which digest), unchanged, or not moved", () => {
    const outcomes = new Map([
      ["publish:good@r", outcome("publish:good@r", "publish", "failed", "good")],
      ["publish:bad@r", { ...outcome("publish:bad@r", "publish", "unchanged", "bad"), digest: "sha256:b" }],
    ]);
    expect(tagOutcomes(plan, outcomes, new Map([["reg/good:1.0", "sha256:g"]]))).toEqual([
      { image: "good", ref: "reg/good:1.0", status: "moved", digest: "sha256:g" },
      { image: "good", ref: "reg/good:latest", status: "not-moved" },
      { image: "bad", ref: "reg/bad:1.0", status: "unchanged", digest: "sha256:b" },
      { image: "bad", ref: "reg/bad:latest", status: "unchanged", digest: "sha256:b" },
    ]);
  });
  test("a tag that already held the verified index was left alone: unchanged, beside the ones that moved", () => {
    const outcomes = new Map([["publish:good@r", outcome("publish:good@r", "publish", "ok", "good")]]);
    const tags = tagOutcomes(plan, outcomes, new Map([["reg/good:latest", "sha256:g"]]), new Map([["reg/good:1.0", "sha256:g"]]));
    expect(tags.slice(0, 2)).toEqual([
      { image: "good", ref: "reg/good:1.0", status: "unchanged", digest: "sha256:g" },
      { image: "good", ref: "reg/good:latest", status: "moved", digest: "sha256:g" },
    ]);
  });
});
