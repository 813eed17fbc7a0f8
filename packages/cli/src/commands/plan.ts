// multiarch plan: compile the spec and write what apply will run; print its summary.
import { type CommandContext, EXIT, type Outcome } from "../context.ts";
import { displayPath } from "../format.ts";
import { builderHowTo } from "../run/builder-help.ts";
import { summary } from "../run/plan-summary.ts";
import { compileAndWrite } from "../run/prepare.ts";

export default async function plan({ values, io, json, signal }: CommandContext<"plan">): Promise<Outcome> {
  const prepared = await compileAndWrite(values, io, { command: "plan", signal });
  if (!prepared.ok) return prepared.outcome;
  prepared.lock.release();
  const builder = prepared.plan.builder ? `\n${await builderHowTo(prepared.plan.builder)}` : "";
  if (!json) io.stdout.write(`${summary(prepared.plan, io)}${builder}\nwrote ${prepared.files.map((f) => displayPath(f, io.cwd)).join(", ")}\n`);
  return { exit: EXIT.ok, warnings: prepared.warnings, data: { plan: prepared.plan, files: prepared.files } };
}
