// multiarch graph: the images, their platforms and registries, and what builds FROM what.
import { type CommandContext, EXIT, type Outcome } from "../context.ts";
import { loadSpecOf } from "../run/load-spec.ts";

const FORMATS = ["mermaid", "dot", "json"] as const;

export default async function graph({ values, io, json }: CommandContext<"graph">): Promise<Outcome> {
  const format = values.format ?? "mermaid";
  if (!(FORMATS as readonly string[]).includes(format)) return { exit: EXIT.usage, message: `--format must be one of ${FORMATS.join(", ")}` };
  // --json's document holds the graph as data: a text format asked for as well would go nowhere
  if (json && values.format !== undefined && format !== "json")
    return { exit: EXIT.usage, message: `--format ${format} and --json: --json prints the graph as JSON (data.graph); drop one of them` };
  const loaded = loadSpecOf(values, io);
  if (!loaded.ok) return { exit: EXIT.usage, errors: loaded.errors, warnings: loaded.warnings };
  const spec = loaded.spec;
  const { dot, graphOf, mermaid, selectImages } = await import("@multiarch/compiler");
  const picked = selectImages(spec, { images: values.image ?? [], groups: values.group ?? [] });
  if (!picked.ok) return { exit: EXIT.usage, errors: picked.errors, warnings: loaded.warnings };
  const g = graphOf(spec, picked.images);
  if (!json) io.stdout.write(format === "json" ? `${JSON.stringify(g, null, 2)}\n` : format === "dot" ? dot(g) : mermaid(g));
  return { exit: EXIT.ok, warnings: loaded.warnings, data: { graph: g } };
}
