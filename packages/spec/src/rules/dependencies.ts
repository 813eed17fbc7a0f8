// Across images: a dependent builds FROM its base's image of the same platform (so the base must have
// every platform of its dependents), and images come in dependency order; a cycle is an error naming it.
import { diag, type SourcePos } from "../diagnostics.ts";
import { type Image, imageKey } from "../model.ts";
import type { RuleContext } from "./context.ts";

const pathOf = (img: Image): string[] => ["images", imageKey(img)];

export function contextPlatformRules(ctx: RuleContext, images: readonly Image[]): void {
  // a base whose platforms were refused (its own, the spec's or the defaults') is built for fewer: what its
  // users miss follows from that error
  const refusedAt = (d: (typeof ctx.diagnostics)[number], key: string) =>
    d.path?.[0] === "platforms" || (d.path?.[0] === "defaults" && d.path[1] === "platforms") || (d.path?.[1] === key && d.path[2] === "platforms");
  const refused = (dep: Image) => ctx.diagnostics.some((d) => d.severity === "error" && refusedAt(d, imageKey(dep)));
  // the first of a name, as a search would find (two of one name is an error of its own)
  const byName = new Map<string, Image>();
  for (const i of images) if (!byName.has(i.name)) byName.set(i.name, i);
  for (const img of images) {
    for (const c of img.contexts) {
      if (c.kind !== "image") continue;
      const dep = byName.get(c.image);
      if (!dep || refused(dep)) continue;
      const depPlatforms = new Set(dep.platforms);
      const missing = img.platforms.filter((p) => !depPlatforms.has(p));
      if (missing.length === 0) continue;
      const those = missing.length > 1 ? "those platforms" : "that platform";
      ctx.diagnostics.push(
        diag("context-platforms", c.at, `image ${img.name} builds FROM ${dep.name} for ${missing.join(", ")}, but ${dep.name} is not built for ${those}`, {
          hint: `add ${missing.join(", ")} to ${dep.name}'s platforms`,
          path: [...pathOf(img), "contexts"],
        }),
      );
    }
  }
}

/** Topological order (stable: declaration order among independents); a cycle is an error naming it. */
export function dependencyOrder(ctx: RuleContext, images: readonly Image[]): Image[] {
  const byName = new Map(images.map((i) => [i.name, i]));
  const state = new Map<string, "visiting" | "done">();
  const ordered: Image[] = [];
  const visit = (img: Image, trail: string[]): void => {
    const s = state.get(img.name);
    if (s === "done") return;
    if (s === "visiting") {
      const cycle = [...trail.slice(trail.indexOf(img.name)), img.name];
      const at: SourcePos = img.contexts.find((c) => c.kind === "image")?.at ?? img.at;
      ctx.diagnostics.push(
        diag("dependency-cycle", at, `dependency cycle: ${cycle.join(" -> ")}`, {
          hint: "an image cannot be built FROM an image that builds FROM it",
          path: pathOf(img),
        }),
      );
      return;
    }
    state.set(img.name, "visiting");
    for (const dep of img.dependsOn) {
      const d = byName.get(dep);
      if (d) visit(d, [...trail, img.name]);
    }
    state.set(img.name, "done");
    ordered.push(img);
  };
  for (const img of images) visit(img, []);
  return ordered;
}
