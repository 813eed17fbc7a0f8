// multiarch apply: compile the spec (or read a saved plan) and run it; --shard runs one platform's share.
import { type CommandContext, EXIT, type Outcome } from "../context.ts";
import { OPTIONS, planShaping } from "../options.ts";
import { compileAndWrite } from "../run/prepare.ts";
import { concurrencyOf, explain, runPlan } from "../run/run-plan.ts";
import { readSavedPlan } from "../run/saved-plan.ts";
import { style } from "../format.ts";

/** The options whose effect a saved plan already holds: apply --plan refuses them. */
const FIXED_BY_PLAN = planShaping(OPTIONS.apply);

export default async function apply(ctx: CommandContext<"apply">): Promise<Outcome> {
  const { values, io, signal } = ctx;
  const concurrency = concurrencyOf(values);
  if (concurrency === undefined) return { exit: EXIT.usage, message: "--concurrency takes a whole number >= 1" };
  if (values.plan !== undefined) {
    const fixed = FIXED_BY_PLAN.filter((f) => values[f] !== undefined);
    if (fixed.length)
      return {
        exit: EXIT.usage,
        message: `${fixed.map((f) => `--${f}`).join(", ")} cannot change a saved plan; run multiarch plan with ${fixed.length === 1 ? "it" : "them"}, then apply --plan`,
      };
  }
  if (values.shard && values["no-push"])
    return { exit: EXIT.usage, message: "--shard pushes its platform's images for multiarch merge; --no-push pushes nothing: pick one" };
  if (values.shard && values.continue)
    return { exit: EXIT.usage, message: "--continue cannot be used with --shard: merge publishes every shard's images or none" };
  if (values.shard) return (await import("../run/shard.ts")).runShards(ctx, values.shard, concurrency);
  if (values.plan !== undefined) {
    const { acquireLock } = await import("@multiarch/executor");
    const saved = readSavedPlan(values.plan, io, (specFile) => acquireLock(specFile));
    if ("outcome" in saved) return saved.outcome;
    try {
      return await runPlan(ctx, saved.plan, saved.planDir, concurrency, []);
    } finally {
      saved.lock.release();
    }
  }
  const prepared = await compileAndWrite(values, io, { command: "apply", dryRun: values["dry-run"], signal });
  if (!prepared.ok) return prepared.outcome;
  try {
    const err = style(io, "stderr");
    for (const p of prepared.problems) io.stderr.write(err.yellow(`warning: could not read ${p}; its image is built\n`));
    if (values.explain) io.stderr.write(`${explain(prepared.plan)}\n`);
    return await runPlan(ctx, prepared.plan, prepared.outAbs, concurrency, prepared.warnings, {
      probed: prepared.engine,
      before: prepared.timings,
      ...(prepared.changedInputs ? { changedInputs: prepared.changedInputs } : {}),
    });
  } finally {
    prepared.lock.release();
  }
}
