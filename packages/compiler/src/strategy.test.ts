import type { EngineFacts } from "@multiarch/plan";
import { describe, expect, test } from "vitest";
import { resolveStrategy } from "./strategy.ts";

const containerd: EngineFacts = {
  reachable: true,
  buildx: true,
  multiPlatform: true,
  driver: "docker",
  reason: "docker driver with the containerd image store",
};
const graph: EngineFacts = {
  reachable: true,
  buildx: true,
  multiPlatform: false,
  driver: "docker",
  reason: "docker driver without the containerd image store",
};
const container: EngineFacts = { reachable: true, buildx: true, multiPlatform: true, driver: "docker-container", reason: "builder driver docker-container" };
const noBuildx: EngineFacts = { reachable: true, buildx: false, multiPlatform: false, reason: "docker buildx is not available" };
const down: EngineFacts = { reachable: false, buildx: false, multiPlatform: false, reason: "not reachable" };

describe("resolveStrategy: engine facts in, decision out", () => {
  test.each([
    ["auto", containerd, { chosen: "bake", ociLayout: true }],
    ["auto", graph, { chosen: "manifest" }],
    ["auto", container, { chosen: "bake" }],
    ["auto", noBuildx, { chosen: "manifest", legacyBuilder: true }],
    // the driver unknown: OCI layouts, which every driver writes
    ["auto", down, { chosen: "bake", ociLayout: true }],
    ["auto", undefined, { chosen: "bake", ociLayout: true }],
    ["bake", undefined, { chosen: "bake", ociLayout: true }],
    ["manifest", noBuildx, { chosen: "manifest", legacyBuilder: true }],
    ["bake", containerd, { chosen: "bake", ociLayout: true }],
  ] as const)("%s on %j", (requested, engine, expected) => {
    const s = resolveStrategy(requested, false, engine);
    expect(s).toMatchObject(expected);
    if (!("ociLayout" in expected)) expect(s.ociLayout).toBeUndefined();
    if (!("legacyBuilder" in expected)) expect(s.legacyBuilder).toBeUndefined();
    // the facts a decision rests on are recorded when the engine answered
    expect(s.engine).toEqual(engine?.reachable ? engine : undefined);
  });
});
