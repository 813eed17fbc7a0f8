import type { EngineFacts, Plan, Platform } from "@multiarch/plan";
import { describe, expect, test } from "vitest";
import { engineChange, preflight } from "./preflight.ts";

const containerd: EngineFacts = {
  reachable: true,
  buildx: true,
  multiPlatform: true,
  driver: "docker",
  reason: "docker driver with the containerd image store",
};
const graph: EngineFacts = {
  ...containerd,
  multiPlatform: false,
  reason: "docker driver without the containerd image store cannot build several platforms at once",
};
const container: EngineFacts = { reachable: true, buildx: true, multiPlatform: true, driver: "docker-container", reason: "builder driver docker-container" };
const noBuildx: EngineFacts = { reachable: true, buildx: false, multiPlatform: false, reason: "docker buildx is not available" };
const image = (platforms: Platform[]) => ({ name: "a", platforms, dependsOn: [], refs: [] });
const plan = (strategy: Plan["strategy"], platforms: Platform[] = ["linux/amd64", "linux/arm64"]) => ({ strategy, images: [image(platforms)] });
const bakeDocker: Plan["strategy"] = { requested: "auto", chosen: "bake", reason: "r", ociLayout: true, engine: containerd };

describe("preflight: plan and engine facts in, one reason out", () => {
  test.each([
    ["bake on the engine it was planned on", plan(bakeDocker), containerd, undefined],
    // OCI layouts work on any driver; bake pushing by digest does not on the docker driver
    ["docker-driver plan on a docker-container builder", plan(bakeDocker), container, undefined],
    [
      "docker-container plan on the docker driver",
      plan({ requested: "auto", chosen: "bake", reason: "r", engine: container }),
      containerd,
      /lets bake push by digest, which buildx's docker driver cannot \(it was made for docker-container builder\).*planned where the builder driver was docker-container \(now docker\)/,
    ],
    [
      "multi-platform bake without the containerd store",
      plan({ requested: "bake", chosen: "bake", reason: "r", ociLayout: true }),
      graph,
      /use --strategy manifest/,
    ],
    [
      "single-platform bake without the containerd store",
      plan({ requested: "bake", chosen: "bake", reason: "r", ociLayout: true }, ["linux/amd64"]),
      graph,
      undefined,
    ],
    ["bake without buildx", plan({ requested: "bake", chosen: "bake", reason: "r" }), noBuildx, /needs docker buildx.*--strategy manifest/],
    ["manifest (legacy) without buildx", plan({ requested: "auto", chosen: "manifest", reason: "r", legacyBuilder: true }), noBuildx, undefined],
    ["manifest (buildx) without buildx", plan({ requested: "manifest", chosen: "manifest", reason: "r" }), noBuildx, /needs docker buildx/],
    ["unreachable", plan(bakeDocker), { reachable: false, buildx: false, multiPlatform: false, reason: "the docker engine is not reachable" }, /not reachable/],
    ["a missing builder", plan(bakeDocker), { ...containerd, builderMissing: "x", reason: "buildx builder x does not exist" }, /builder x does not exist/],
  ] as const)("%s", (_name, p, engine, expected) => {
    const r = preflight(p, engine);
    if (expected === undefined) expect(r).toBeUndefined();
    else expect(r).toMatch(expected);
  });

  test("missing QEMU handlers are named per platform", () => {
    const r = preflight(plan(bakeDocker), containerd, [{ platform: "linux/arm64", handler: "qemu-aarch64", problem: "no F flag" }]);
    expect(r).toContain("linux/arm64: binfmt_misc handler qemu-aarch64 is registered without the F (fix-binary) flag");
  });

  test("engineChange says nothing when nothing relevant changed", () => {
    expect(engineChange(containerd, { ...containerd, reason: "other words" })).toBeUndefined();
    expect(engineChange(containerd, graph)).toBe("multi-platform builds were possible (now impossible)");
  });
});
