// multiarch graph: the spec's images as nodes (platforms, registries; internal images and groups marked)
// and image: links as edges, as Mermaid (renders in GitHub markdown), Graphviz dot, or JSON. Pure.
import type { Image, Spec } from "@multiarch/spec";

export interface Graph {
  nodes: { id: string; platforms: string[]; registries: string[]; internal: boolean; groups: string[]; matrixOf?: string }[];
  /** from builds FROM to (an image: context). */
  edges: { from: string; to: string; context: string }[];
  groups: { name: string; images: string[] }[];
}

export function graphOf(spec: Spec, images: readonly Image[] = spec.images): Graph {
  const names = new Set(images.map((i) => i.name));
  return {
    nodes: images.map((i) => ({
      id: i.name,
      platforms: i.platforms,
      registries: i.registries,
      internal: !i.publish,
      groups: spec.groups.filter((g) => g.images.includes(i.name)).map((g) => g.name),
      ...(i.matrix ? { matrixOf: i.matrix.of } : {}),
    })),
    edges: images.flatMap((i) => i.contexts.flatMap((c) => (c.kind === "image" && names.has(c.image) ? [{ from: i.name, to: c.image, context: c.name }] : []))),
    groups: spec.groups.map((g) => ({ name: g.name, images: g.images.filter((n) => names.has(n)) })).filter((g) => g.images.length > 0),
  };
}

/** Short platform names for labels: amd64, arm64, arm/v7. */
const short = (ps: readonly string[]) => ps.map((p) => p.replace(/^linux\//, "")).join(", ");
/** Where an image goes: its registries, an OCI archive, or nowhere (internal). */
const where = (n: Graph["nodes"][number]) => (n.internal ? "· internal" : n.registries.length ? `→ ${n.registries.join(", ")}` : "→ OCI archive");
const mermaidId = (s: string) => s.replace(/[^A-Za-z0-9_]/g, "_");

export function mermaid(g: Graph): string {
  const lines = ["flowchart BT"];
  const node = (n: Graph["nodes"][number]) =>
    `${mermaidId(n.id)}${n.internal ? "([" : "["}"${n.id}<br/><small>${short(n.platforms)} ${where(n)}</small>"${n.internal ? "])" : "]"}`;
  const grouped = new Set<string>();
  for (const grp of g.groups) {
    lines.push(`  subgraph ${mermaidId(`group_${grp.name}`)}["group ${grp.name}"]`);
    for (const id of grp.images) {
      if (grouped.has(id)) continue;
      grouped.add(id);
      lines.push(`    ${node(g.nodes.find((n) => n.id === id)!)}`);
    }
    lines.push("  end");
  }
  for (const n of g.nodes) if (!grouped.has(n.id)) lines.push(`  ${node(n)}`);
  for (const e of g.edges) lines.push(`  ${mermaidId(e.from)} -->|FROM ${e.context}| ${mermaidId(e.to)}`);
  const internal = g.nodes.filter((n) => n.internal).map((n) => mermaidId(n.id));
  if (internal.length) lines.push("  classDef internal stroke-dasharray: 4 3", `  class ${internal.join(",")} internal`);
  return `${lines.join("\n")}\n`;
}

export function dot(g: Graph): string {
  const q = (s: string) => JSON.stringify(s);
  const lines = ["digraph multiarch {", "  rankdir=BT;", '  node [shape=box, fontname="sans-serif"];'];
  for (const grp of g.groups) {
    lines.push(`  subgraph ${q(`cluster_${grp.name}`)} {`, `    label=${q(`group ${grp.name}`)};`, ...grp.images.map((i) => `    ${q(i)};`), "  }");
  }
  for (const n of g.nodes) {
    const label = `${n.id}\\n${short(n.platforms)} ${where(n)}`;
    lines.push(`  ${q(n.id)} [label="${label.replaceAll('"', '\\"')}"${n.internal ? ", style=dashed" : ""}];`);
  }
  for (const e of g.edges) lines.push(`  ${q(e.from)} -> ${q(e.to)} [label=${q(`FROM ${e.context}`)}];`);
  lines.push("}");
  return `${lines.join("\n")}\n`;
}
