// multiarch promote VERSION: the spec's tags for VERSION point at the index VERSION's tag already holds
// (a roll back), or at a copy of it from --from REGISTRY in --to REGISTRY; nothing is built. Verified,
// signature-checked and published exactly as apply publishes (one publish step, latest last).
import { promotePlan } from "@multiarch/compiler";
import type { Spec } from "@multiarch/spec";
import { type CommandContext, EXIT, type Outcome } from "../context.ts";
import { loadSpecOf } from "../run/load-spec.ts";
import { lockedOutcome } from "../run/lock.ts";
import { concurrencyOf, runPlan } from "../run/run-plan.ts";

/** The spec with its version variable set to VERSION, or why that cannot be. */
export function withVersion(spec: Spec, name: string, version: string): { spec: Spec } | { error: string } {
  const v = spec.variables.find((x) => x.name === name);
  if (!v) return { error: `this spec has no variable ${name} to set to ${version}; name the one its tags use: --variable NAME` };
  if (v.map !== undefined || v.split !== undefined) return { error: `variable ${name} is a ${v.map ? "map" : "list"}; promote sets a single value` };
  return { spec: { ...spec, variables: spec.variables.map((x) => (x === v ? { name, value: version, at: v.at } : x)) } };
}

export default async function promote(ctx: CommandContext<"promote">): Promise<Outcome> {
  const { values, io, positionals } = ctx;
  if (positionals.length !== 1) return { exit: EXIT.usage, message: "name one version: multiarch promote VERSION, e.g. multiarch promote 1.4.2" };
  const version = positionals[0]!;
  const concurrency = concurrencyOf(values);
  if (concurrency === undefined) return { exit: EXIT.usage, message: "--concurrency takes a whole number >= 1" };
  // nothing is built: a checkout without the build inputs (a Dockerfile since removed) can roll back
  const loaded = loadSpecOf(values, io, { absentInputs: true });
  if (!loaded.ok) return { exit: EXIT.usage, errors: loaded.errors, warnings: loaded.warnings };
  const set = withVersion(loaded.spec, values.variable ?? "version", version);
  if ("error" in set) return { exit: EXIT.usage, message: set.error, warnings: loaded.warnings };
  const result = promotePlan(
    set.spec,
    { git: undefined, gitProblem: "promote builds nothing", env: io.env },
    {
      ...(values.from !== undefined ? { from: values.from } : {}),
      ...(values.to !== undefined ? { to: values.to } : {}),
      ...(values.image ? { images: values.image } : {}),
    },
  );
  if (!result.ok) return { exit: EXIT.usage, errors: result.errors, warnings: loaded.warnings };
  const { acquireLock } = await import("@multiarch/executor");
  // promote and apply of one spec never move its tags at once
  const lock = acquireLock(loaded.spec.file);
  if (!lock.ok) return lockedOutcome(lock, io);
  try {
    const outcome = await runPlan(ctx, result.plan, loaded.spec.dir, concurrency, loaded.warnings);
    return { ...outcome, data: { ...outcome.data, promoted: { version, sources: result.sources } } };
  } finally {
    lock.release();
  }
}
