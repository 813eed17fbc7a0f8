// groups: named sets of images for --group. A member names an image, or a matrix image's key (all of its
// combinations).

import { didYouMean } from "@multiarch/plan";
import type { Group, Image } from "../model.ts";
import { type RuleContext, report } from "./context.ts";
import { NAME_RE } from "./registries.ts";

export function groupRules(ctx: RuleContext, images: readonly Image[]): Group[] {
  const names = images.map((i) => i.name);
  const byKey = new Map<string, string[]>();
  for (const i of images) if (i.matrix) byKey.set(i.matrix.of, [...(byKey.get(i.matrix.of) ?? []), i.name]);
  const groups: Group[] = [];
  for (const [name, members] of Object.entries(ctx.input.groups ?? {})) {
    const path = ["groups", name];
    if (!NAME_RE.test(name)) report(ctx, "invalid-value", path, `group name "${name}" must match [a-z0-9][a-z0-9_-]*`, undefined, true);
    const list: string[] = [];
    members.forEach((m, i) => {
      const found = names.includes(m) ? [m] : (byKey.get(m) ?? []);
      if (found.length === 0)
        report(
          ctx,
          "group-unknown-image",
          [...path, i],
          `group ${name}: no image ${m}`,
          didYouMean(m, [...names, ...byKey.keys()]) ?? `images: ${names.join(", ")}`,
        );
      for (const f of found) if (!list.includes(f)) list.push(f);
    });
    groups.push({ name, images: list, at: ctx.map.keyAt(path) });
  }
  return groups;
}
