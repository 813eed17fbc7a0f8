import type { PlannedImage } from "@multiarch/plan";
import { describe, expect, test } from "vitest";
import { legacyCleanup, loadSteps, testCleanup } from "./load-and-cleanup.ts";

const image: PlannedImage = {
  name: "app",
  platforms: ["linux/amd64", "linux/arm/v7"],
  dependsOn: [],
  refs: [{ registry: "r", name: "reg/app", insecure: false, tags: ["1.0"], staging: "reg/app:s" }],
  test: ["true"],
};

describe("load and clean-up steps", () => {
  test("--load pulls the engine's own platform when the image has it, else its first", () => {
    expect(loadSteps([image], "linux/arm/v7")[0]!.platform).toBe("linux/arm/v7");
    expect(loadSteps([image], "linux/s390x")[0]!.platform).toBe("linux/amd64");
    expect(loadSteps([{ ...image, refs: [], archive: "out/app.tar" }], undefined)[0]!.commands[0]!.args).toEqual(["load", "--input", "out/app.tar"]);
  });

  test("the legacy builder's per-arch staging images, and tested images, leave the engine", () => {
    expect(legacyCleanup([image], true)[0]!.inputs).toEqual(["reg/app:s-amd64", "reg/app:s-armv7"]);
    expect(legacyCleanup([image], false)).toEqual([]);
    expect(testCleanup([image])[0]!.inputs).toEqual(["reg/app:s"]);
  });
});
