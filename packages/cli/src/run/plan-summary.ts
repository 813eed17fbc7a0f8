// The plan in a few lines: images x platforms, the strategy and why, what each image publishes, the steps.
import type { Plan } from "@multiarch/plan";
import { plural } from "../context.ts";
import { type Io, style, table } from "../format.ts";

export function summary(plan: Plan, io: Io): string {
  const s = style(io, "stdout");
  const platforms = [...new Set(plan.images.flatMap((i) => i.platforms))];
  const rows = plan.images.map((i) => [
    i.name,
    ...platforms.map((p) => (i.platforms.includes(p) ? s.green("yes") : s.dim("-"))),
    i.archive ? i.archive : i.notPublished ? s.dim(`not published: ${i.notPublished}`) : i.refs.map((r) => `${r.name}:{${r.tags.join(",")}}`).join(" "),
  ]);
  const steps = plan.stages.reduce((n, st) => n + st.steps.length, 0);
  return [
    `${s.bold(`${plural(plan.images.length, "image")} x ${plural(platforms.length, "platform")}`)}, strategy ${s.bold(plan.strategy.chosen)} (${plan.strategy.reason})`,
    "",
    table(rows, ["image", ...platforms, "publishes"]),
    "",
    steps === 0
      ? `nothing to run${plan.images.length && plan.images.every((i) => i.upToDate) ? ": every image is up to date" : ""}`
      : `${plural(steps, "step")} in ${plural(plan.stages.length, "stage")}: ${plan.stages.map((st) => `${st.name} ${st.steps.length}`).join(", ")}`,
  ].join("\n");
}
