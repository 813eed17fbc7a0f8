import { describe, expect, test } from "vitest";
import type { PlannedRef } from "./schema.ts";
import { bakeStepId, buildStepId, refStepId, testStepId } from "./step-id.ts";

const ref: PlannedRef = { registry: "ghcr", name: "ghcr.io/acme/api", insecure: false, tags: [], staging: "ghcr.io/acme/api:s" };

describe("step ids", () => {
  test("per repository, and a platform's share of it", () => {
    expect(refStepId("verify", "api", ref)).toBe("verify:api@ghcr");
    expect(refStepId("verify", "api", { ...ref, repository: "acme/api" }, "linux/arm/v7")).toBe("verify:api@ghcr/acme/api/linux/arm/v7");
  });
  test("per platform, and bake runs", () => {
    expect(testStepId("api", "linux/arm64")).toBe("test:api/linux/arm64");
    expect(buildStepId("api", "linux/arm/v7")).toBe("build:api/linux-arm-v7");
    expect([bakeStepId(), bakeStepId(2), bakeStepId("linux/arm64")]).toEqual(["bake", "bake:2", "bake:linux-arm64"]);
  });
});
