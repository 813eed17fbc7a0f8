import { join, resolve } from "node:path";
import { loadSpec, type Spec } from "@multiarch/spec";
import { describe, expect, test } from "vitest";
import { select, selectImages, withDependencies } from "./selection.ts";

const EXAMPLES = resolve(import.meta.dirname, "../../../examples");
function load(file: string): Spec {
  const r = loadSpec(file);
  if (!r.ok) throw new Error(JSON.stringify(r.errors));
  return r.spec;
}
const monorepo = load(join(EXAMPLES, "monorepo", "multiarch.yaml"));

describe("selection", () => {
  test("--image and --platform narrow the images; what they build FROM comes along for their platforms", () => {
    const s = select(monorepo, { images: ["api"], platforms: ["linux/aarch64"] });
    if (!s.ok) throw new Error(JSON.stringify(s.errors));
    expect(s.asked).toEqual(["api"]);
    expect(s.images.map((i) => [i.name, i.platforms])).toEqual([["api", ["linux/arm64"]]]);
    expect(withDependencies(monorepo, s.images).map((i) => [i.name, i.platforms])).toEqual([
      ["base", ["linux/arm64"]],
      ["api", ["linux/arm64"]],
    ]);
  });

  test("unknown names and platforms are refused together, each with a hint", () => {
    const s = select(monorepo, { images: ["apy"], groups: ["nope"], platforms: ["linux/arm64e"] });
    expect(s.ok ? [] : s.errors.map((e) => [e.message, e.hint])).toEqual([
      ["--group nope: no such group", expect.any(String)],
      ["--image apy: no such image", "did you mean api?"],
      [expect.stringContaining("--platform"), "did you mean linux/arm64?"],
    ]);
  });

  test("selectImages (graph) gives the selection with its dependencies", () => {
    const s = selectImages(monorepo, { images: ["api"] });
    expect(s.ok && s.images.map((i) => i.name)).toEqual(["base", "api"]);
  });
});
