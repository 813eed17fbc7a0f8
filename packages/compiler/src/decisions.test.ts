import { join, resolve } from "node:path";
import { loadSpec, type Spec } from "@multiarch/spec";
import { describe, expect, test } from "vitest";
import { localOnly, publishDecisions } from "./decisions.ts";

const EXAMPLES = resolve(import.meta.dirname, "../../../examples");
function load(file: string): Spec {
  const r = loadSpec(file);
  if (!r.ok) throw new Error(JSON.stringify(r.errors));
  return r.spec;
}

describe("publish decisions", () => {
  const spec = load(join(EXAMPLES, "monorepo", "multiarch.yaml"));
  const [base, api] = [spec.images.find((i) => i.name === "base")!, spec.images.find((i) => i.name === "api")!];

  test("a dependency nobody selected, a platform subset, --load and --no-publish each say why", () => {
    const subset = { ...api, platforms: api.platforms.slice(0, 1) };
    const why = publishDecisions(spec, [base, subset], new Set(["api"]), {});
    expect(why.get("base")).toMatch(/^(dependency of api|internal image)/);
    expect(why.get("api")).toMatch(/^subset of the planned platforms: built linux\/amd64 of /);
    expect(publishDecisions(spec, [api], new Set(["api"]), { load: true }).get("api")).toBe("--load: loaded into the engine instead of published");
    expect(publishDecisions(spec, [api], new Set(["api"]), { noPublish: true }).get("api")).toBe("--no-publish");
    expect(publishDecisions(spec, [api], new Set(["api"]), {}).has("api")).toBe(false);
  });

  test("--no-push: no registry, so nothing publishes", () => {
    const local = localOnly(spec);
    expect(local.images.every((i) => i.registries.length === 0)).toBe(true);
    expect(publishDecisions(local, local.images, new Set(local.images.map((i) => i.name)), {}).size).toBe(0);
  });
});
