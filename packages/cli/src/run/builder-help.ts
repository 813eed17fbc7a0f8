// How to create the spec's multi-node builder: plan prints it, apply says it when the builder is missing.
import type { Builder } from "@multiarch/plan";

/** The spec's multi-node builder: its nodes, and the commands that create it (doctor --fix runs them). */
export async function builderHowTo(builder: Builder): Promise<string> {
  const { showCommand } = await import("@multiarch/executor");
  return [
    `builder ${builder.name} (${builder.driver}): ${builder.nodes.map((n) => `${n.name} ${n.platforms.join(",")}${n.endpoint ? ` at ${n.endpoint}` : ""}`).join("; ")}`,
    "create it once with:",
    ...builder.create.map((c) => `  ${showCommand(c)}`),
  ].join("\n");
}
