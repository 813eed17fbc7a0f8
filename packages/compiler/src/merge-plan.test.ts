import { type Plan, type Platform, planIdentity, type Shard } from "@multiarch/plan";
import { describe, expect, test } from "vitest";
import { mergePlan } from "./merge-plan.ts";

const plan: Plan = {
  version: 3,
  spec: "multiarch.yaml",
  cwd: ".",
  strategy: { requested: "bake", chosen: "bake", reason: "t" },
  images: [
    {
      name: "app",
      platforms: ["linux/amd64", "linux/arm64"],
      dependsOn: [],
      refs: [{ registry: "r", name: "reg/app", insecure: true, tags: ["1.0", "latest"], staging: "reg/app:multiarch-staging-x" }],
      inputHash: "a".repeat(64),
    },
  ],
  stages: [],
  secrets: [],
};
const commit = "c".repeat(40);
const shard = (platform: Platform, over: Partial<Shard> = {}): Shard => ({
  version: 1,
  identity: { plan: planIdentity(plan), commit },
  platform,
  images: {
    app: {
      inputHash: "a".repeat(64),
      tests: "passed",
      refs: {
        "reg/app": { staging: `reg/app:multiarch-staging-x-${platform.split("/")[1]}`, digest: `sha256:idx-${platform}`, manifest: `sha256:img-${platform}` },
      },
    },
  },
  ...over,
});

describe("mergePlan", () => {
  test("every platform present: an index by digest, verified for content, published latest last", () => {
    const r = mergePlan(plan, [shard("linux/amd64"), shard("linux/arm64")], commit);
    expect(r.ok).toBe(true);
    if (!r.ok) return;
    expect(r.plan.stages.map((s) => s.name)).toEqual(["merge", "verify", "publish"]);
    // pushed by digest in-process: no command, no tag
    expect(r.plan.stages[0]!.steps[0]!.commands).toEqual([]);
    expect(r.plan.stages[0]!.steps[0]!.index).toEqual({
      ref: "reg/app:multiarch-staging-x",
      sources: ["reg/app@sha256:idx-linux/amd64", "reg/app@sha256:idx-linux/arm64"],
      insecure: true,
    });
    expect(r.plan.stages[1]!.steps[0]!.read?.ref).toEqual({ built: "reg/app:multiarch-staging-x" });
    expect(r.plan.stages[1]!.steps[0]!.expect).toEqual({
      ref: "reg/app:multiarch-staging-x",
      platforms: ["linux/amd64", "linux/arm64"],
      manifests: { "linux/amd64": "sha256:img-linux/amd64", "linux/arm64": "sha256:img-linux/arm64" },
      inputHash: "a".repeat(64),
    });
    expect(r.plan.stages[2]!.steps[0]!.produces).toEqual(["reg/app:1.0", "reg/app:latest"]);
  });

  test("a missing shard is named, nothing is planned", () => {
    expect(mergePlan(plan, [shard("linux/amd64")], commit)).toEqual({
      ok: false,
      problems: ["app: no linux/arm64 image for reg/app (missing the linux/arm64 shard, or it did not build app)"],
    });
  });

  test("a shard of another commit or plan is refused with both identities", () => {
    const other = shard("linux/arm64", { identity: { plan: "ffff", commit: "d".repeat(40) } });
    const r = mergePlan(plan, [shard("linux/amd64"), other], commit);
    expect(!r.ok && r.problems[0]).toBe(
      `the linux/arm64 shard is of another run: plan ffff at commit dddddddddddd, this one is plan ${planIdentity(plan)} at commit cccccccccccc (another commit, spec or --set, or a shard run with --image or --platform: merge puts every image of the spec together)`,
    );
  });

  // found by a review: shards that agreed with each other but not with the merging checkout (both run with a
  // --set the merge was not given, or from a change not committed) were published
  test("shards that built an image from other inputs than this checkout's are refused, naming each", () => {
    const hashed = (platform: Platform, inputHash: string): Shard => {
      const s = shard(platform);
      return { ...s, images: { app: { ...s.images.app!, inputHash } } };
    };
    const why =
      "A change not committed, a --set or an environment variable the spec reads that the shards had and this merge has not (or the other way), or a base image that moved since; run the shards again from this checkout, or merge with their --set.";
    expect(mergePlan(plan, [hashed("linux/amd64", "a".repeat(64)), hashed("linux/arm64", "b".repeat(64))], commit)).toEqual({
      ok: false,
      problems: [`app: the shards built it from other inputs than this checkout's (aaaaaaaaaaaa): linux/arm64 from bbbbbbbbbbbb. ${why}`],
    });
    expect(mergePlan(plan, [hashed("linux/amd64", "b".repeat(64)), hashed("linux/arm64", "b".repeat(64))], commit)).toEqual({
      ok: false,
      problems: [`app: the shards built it from other inputs than this checkout's (aaaaaaaaaaaa): linux/amd64, linux/arm64 from bbbbbbbbbbbb. ${why}`],
    });
    // a base the merge could not read (its job lacks the shards' registry access) is the likelier cause: said
    const unread = { ...plan, images: [{ ...plan.images[0]!, inputsUnknown: "bases: reg/base:1 (HTTP 401)" }] };
    const r = mergePlan(unread, [hashed("linux/amd64", "b".repeat(64)), hashed("linux/arm64", "b".repeat(64))], commit);
    expect(!r.ok && r.problems[0]).toContain("This merge could not read bases: reg/base:1 (HTTP 401): give it the shards' registry access.");
  });

  test("the manifest strategy indexes the same per-platform image manifests, and publishes the spec's tags only", () => {
    const manifest = { ...plan, strategy: { requested: "manifest" as const, chosen: "manifest" as const, reason: "t" } };
    const shards = [shard("linux/amd64"), shard("linux/arm64")].map((s) => ({ ...s, identity: { plan: planIdentity(manifest), commit } }));
    const r = mergePlan(manifest, shards, commit);
    expect(r.ok).toBe(true);
    if (!r.ok) return;
    const [merge, , publish] = r.plan.stages.map((s) => s.steps[0]!);
    expect(merge!.commands).toEqual([]);
    expect(merge!.index?.sources).toEqual(["reg/app@sha256:img-linux/amd64", "reg/app@sha256:img-linux/arm64"]);
    expect(publish!.produces).toEqual(["reg/app:1.0", "reg/app:latest"]);
  });

  test("the legacy builder merges with docker manifest, under the staging tag (it cannot push by digest)", () => {
    const legacy = { ...plan, strategy: { requested: "manifest" as const, chosen: "manifest" as const, reason: "t", legacyBuilder: true } };
    const shards = [shard("linux/amd64"), shard("linux/arm64")].map((s) => ({ ...s, identity: { plan: planIdentity(legacy), commit } }));
    const r = mergePlan(legacy, shards, commit);
    if (!r.ok) throw new Error(r.problems.join("\n"));
    const [merge, , publish] = r.plan.stages.map((s) => s.steps[0]!);
    expect(merge!.commands.map((c) => c.args.join(" "))).toEqual([
      "manifest rm reg/app:multiarch-staging-x",
      "manifest create --insecure reg/app:multiarch-staging-x --amend reg/app@sha256:img-linux/amd64 --amend reg/app@sha256:img-linux/arm64",
      "manifest push --insecure reg/app:multiarch-staging-x",
    ]);
    expect(merge!.yields).toEqual([{ ref: "reg/app:multiarch-staging-x", pushed: true, from: "output" }]);
    expect(publish!.produces).toEqual(["reg/app:1.0", "reg/app:latest"]);
  });
});

test("the spec's index annotations are set on the merged index and checked by verify", () => {
  const annotated: Plan = { ...plan, images: [{ ...plan.images[0]!, indexAnnotations: { "org.opencontainers.image.description": "The app" } }] };
  const identity = { plan: planIdentity(annotated), commit };
  const r = mergePlan(annotated, [shard("linux/amd64", { identity }), shard("linux/arm64", { identity })], commit);
  if (!r.ok) throw new Error(r.problems.join("\n"));
  const steps = r.plan.stages.flatMap((s) => s.steps);
  expect(steps.find((s) => s.kind === "manifest")!.index?.annotations).toEqual({ "org.opencontainers.image.description": "The app" });
  expect(steps.find((s) => s.kind === "verify")!.expect).toMatchObject({ annotations: { "org.opencontainers.image.description": "The app" } });
});
