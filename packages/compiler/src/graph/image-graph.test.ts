import { join, resolve } from "node:path";
import { loadSpec } from "@multiarch/spec";
import { describe, expect, test } from "vitest";
import { dot, graphOf, mermaid } from "./image-graph.ts";

const EXAMPLES = resolve(import.meta.dirname, "../../../../examples");
const load = (name: string) => {
  const r = loadSpec(join(EXAMPLES, name, "multiarch.yaml"));
  if (!r.ok) throw new Error(JSON.stringify(r.errors));
  return r.spec;
};

describe("graph", () => {
  test("nodes with platforms and registries, image: links as edges, internal images and groups marked", () => {
    const g = graphOf(load("bakery"));
    expect(g.edges).toEqual([
      { from: "server-slim", to: "base", context: "base" },
      { from: "server-full", to: "base", context: "base" },
      { from: "tool", to: "base", context: "base" },
    ]);
    expect(g.nodes.find((n) => n.id === "base")).toMatchObject({ internal: true, groups: [] });
    expect(g.nodes.find((n) => n.id === "server-slim")).toMatchObject({ internal: false, groups: ["ci"], matrixOf: "server" });
  });

  // pins the text README shows (regenerate: multiarch graph -f examples/monorepo/multiarch.yaml)
  test("mermaid and dot of the monorepo example", async () => {
    const g = graphOf(load("monorepo"));
    await expect(mermaid(g)).toMatchFileSnapshot("./__golden__/monorepo.mmd");
    await expect(dot(g)).toMatchFileSnapshot("./__golden__/monorepo.dot");
    await expect(mermaid(graphOf(load("bakery")))).toMatchFileSnapshot("./__golden__/bakery.mmd");
  });
});
