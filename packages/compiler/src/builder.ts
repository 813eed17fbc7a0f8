// A multi-node builder from the spec (build.builder as a mapping) -> the `docker buildx create` commands
// that make it: the first node creates the builder, each further node is appended. Pure data.
import type { Builder, Command } from "@multiarch/plan";
import type { Spec } from "@multiarch/spec";
import { docker } from "./steps.ts";

export function builderOf(spec: Spec): Builder | undefined {
  const { builder: name, nodes: def } = spec.build;
  if (!name || !def) return undefined;
  const create = def.nodes.map(
    (n, i): Command =>
      docker([
        "buildx",
        "create",
        "--name",
        name,
        ...(i === 0 ? ["--driver", def.driver] : ["--append"]),
        "--node",
        n.name,
        "--platform",
        n.platforms.join(","),
        ...Object.entries(n.driverOpts).flatMap(([k, v]) => ["--driver-opt", `${k}=${v}`]),
        ...(n.endpoint ? [n.endpoint] : []),
      ]),
  );
  return {
    name,
    driver: def.driver,
    nodes: def.nodes.map((n) => ({ name: n.name, platforms: n.platforms, ...(n.endpoint ? { endpoint: n.endpoint } : {}) })),
    create,
  };
}
