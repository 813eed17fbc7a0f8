// build.builder as a mapping: a multi-node builder, one node per platform group. Node platforms are read
// with the one platform parser; every platform an image asks for needs a node that builds it, or buildx
// would send it to a node that emulates it (or fail).
import type { BuilderNodes, Image } from "../model.ts";
import { platformList, type RuleContext, report, warn } from "./context.ts";

/** buildx's own rule for builder and node names. */
const NAME_RE = /^[a-zA-Z][a-zA-Z0-9_.-]*$/;

export function builderRules(ctx: RuleContext, images: readonly Image[]): { name?: string; nodes?: BuilderNodes } {
  const input = ctx.input.build?.builder;
  if (input === undefined) return {};
  if (typeof input === "string") return { name: input };
  const at = ["build", "builder"];
  if (!NAME_RE.test(input.name)) report(ctx, "invalid-value", [...at, "name"], `builder name "${input.name}" must match [a-zA-Z][a-zA-Z0-9_.-]*`);
  const nodes: BuilderNodes["nodes"] = [];
  const owner = new Map<string, string>();
  for (const [i, n] of input.nodes.entries()) {
    const path = [...at, "nodes", i];
    const name = n.name ?? `${input.name}-${i}`;
    if (!NAME_RE.test(name)) report(ctx, "invalid-value", [...path, "name"], `node name "${name}" must match [a-zA-Z][a-zA-Z0-9_.-]*`);
    if (nodes.some((m) => m.name === name)) report(ctx, "invalid-value", [...path, "name"], `two nodes are named ${name}`, "give each node its own name");
    if (input.driver === "remote" && !n.endpoint)
      report(ctx, "missing-key", path, `node ${name}: the remote driver needs the buildkitd address`, "endpoint: tcp://HOST:1234", true);
    if (n.endpoint && /:\/\/[^/@]*:[^/@]*@/.test(n.endpoint))
      report(
        ctx,
        "credential-literal",
        [...path, "endpoint"],
        `node ${name}: the endpoint holds a password`,
        "use TLS client certificates (driverOpts: cacert, cert, key)",
      );
    const platforms = platformList(ctx, n.platforms, [...path, "platforms"]);
    for (const p of platforms) {
      const first = owner.get(p);
      if (first) warn(ctx, "builder-platforms", [...path, "platforms"], `${p} is on nodes ${first} and ${name}; buildx uses ${first}`);
      else owner.set(p, name);
    }
    nodes.push({ name, platforms, ...(n.endpoint ? { endpoint: n.endpoint } : {}), driverOpts: n.driverOpts ?? {} });
  }
  const uncovered = [...new Set(images.flatMap((img) => img.platforms))].filter((p) => !owner.has(p));
  if (uncovered.length)
    report(
      ctx,
      "builder-platforms",
      [...at, "nodes"],
      `no node of builder ${input.name} builds ${uncovered.join(", ")}`,
      "add each to a node's platforms (a native machine of that arch), or drop it from the images",
    );
  return { name: input.name, nodes: { driver: input.driver, nodes, at: ctx.map.keyAt(at) } };
}
