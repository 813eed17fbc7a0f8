import { readFileSync } from "node:fs";
import { dirname, resolve } from "node:path";
import type { EngineFacts, Lock } from "@multiarch/executor";
import { asPlan, type Plan, parsePlanFile } from "@multiarch/plan";
import { type CommandContext, EXIT, type Outcome, type Values } from "../context.ts";
import { displayPath, type Io, style } from "../format.ts";
import { concurrencyOf, explain, runPlan } from "../run/run-plan.ts";
import { compileAndWrite, type Timing } from "./load.ts";
import { lockedOutcome } from "./lock.ts";

const FIXED_BY_PLAN = ["image", "group", "platform", "strategy", "out", "load", "no-publish", "no-push", "file", "rebuild", "since", "shard", "set"] as const;

export default async function apply(ctx: CommandContext): Promise<Outcome> {
  const { values, io } = ctx;
  const concurrency = concurrencyOf(values);
  if (concurrency === undefined) return { exit: EXIT.usage, message: "--concurrency takes a whole number >= 1" };
  if (typeof values.plan === "string") {
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
  if (values.shard) return (await import("./shard.ts")).default(ctx, concurrency);
  const { acquireLock } = await import("@multiarch/executor");
  const loaded = await planFor(values, io, (specFile) => acquireLock(specFile));
  if ("outcome" in loaded) return loaded.outcome;
  const { plan, planDir, lock, warnings } = loaded;
  try {
    return await runPlan(ctx, plan, planDir, concurrency, warnings, loaded.engine, loaded.timings);
  } finally {
    lock.release();
  }
}

type Loaded =
  | { plan: Plan; planDir: string; engine?: EngineFacts; lock: Extract<Lock, { ok: true }>; warnings: Outcome["warnings"]; timings: Timing[] }
  | { outcome: Outcome };

/** Reads --plan, or compiles the spec; the spec's lock is taken before anything is written. */
async function planFor(values: Values, io: Io, lockOf: (specFile: string) => Lock): Promise<Loaded> {
  if (typeof values.plan === "string") {
    const file = resolve(io.cwd, values.plan);
    let json: unknown;
    try {
      json = JSON.parse(readFileSync(file, "utf8"));
    } catch (e) {
      return { outcome: { exit: EXIT.usage, message: `cannot read plan ${displayPath(file, io.cwd)}: ${(e as Error).message}` } };
    }
    const parsed = parsePlanFile(json);
    if (!parsed.ok)
      return {
        outcome: {
          exit: EXIT.usage,
          message: `${displayPath(file, io.cwd)} cannot be run (write it again with multiarch plan):\n${parsed.problems.map((p) => `  ${p}`).join("\n")}`,
        },
      };
    const planDir = dirname(file);
    const lock = lockOf(resolve(planDir, parsed.plan.spec));
    if (!lock.ok) return { outcome: lockedOutcome(lock, io) };
    return { plan: asPlan(parsed.plan), planDir, lock, warnings: [], timings: [] };
  }
  const prepared = await compileAndWrite(values, io, "apply");
  if (!prepared.ok) return { outcome: prepared.outcome };
  const err = style(io, "stderr");
  for (const p of prepared.problems) io.stderr.write(err.yellow(`warning: could not read ${p}; its image is built\n`));
  if (values.explain) io.stderr.write(`${explain(prepared.plan)}\n`);
  return {
    plan: prepared.plan,
    planDir: prepared.outAbs,
    ...(prepared.engine ? { engine: prepared.engine } : {}),
    lock: prepared.lock,
    warnings: prepared.warnings,
    timings: prepared.timings,
  };
}
