import type { Plan } from "@multiarch/plan";
import { type CommandContext, EXIT, type Outcome, plural } from "../context.ts";
import { displayPath, type Io, style, table } from "../format.ts";
import { builderHowTo, compileAndWrite } from "./load.ts";

export default async function plan({ values, io, json }: CommandContext): Promise<Outcome> {
  const prepared = await compileAndWrite(values, io, "plan");
  if (!prepared.ok) return prepared.outcome;
  prepared.lock.release();
  const builder = prepared.plan.builder ? `\n${await builderHowTo(prepared.plan.builder)}` : "";
  if (!json) io.stdout.write(`${summary(prepared.plan, io)}${builder}\nwrote ${prepared.files.map((f) => displayPath(f, io.cwd)).join(", ")}\n`);
  return { exit: EXIT.ok, warnings: prepared.warnings, data: { plan: prepared.plan, files: prepared.files } };
}

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
    `${plural(steps, "step")} in ${plural(plan.stages.length, "stage")}: ${plan.stages.map((st) => `${st.name} ${st.steps.length}`).join(", ")}`,
  ].join("\n");
}
